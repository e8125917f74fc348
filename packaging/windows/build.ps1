<#
.SYNOPSIS
  Build the UltraIS Windows installer: the PyInstaller bundle, then the Inno Setup setup.exe.

.DESCRIPTION
  Run from any folder, in PowerShell on 64-bit Windows 10/11 with:
    * Python 3.10-3.12 (64-bit) from python.org: `py -3.11` or `python` on PATH;
    * Inno Setup 6.3 or later (https://jrsoftware.org/isinfo.php), ISCC.exe found on PATH or
      in its default folder.
  The bundle is built in a venv of its own (build\venv-<variant>) that gets torch from
  PyTorch's CPU or CUDA (cu126) index; the CUDA build downloads about 3 GB.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -Variant cpu
  powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -Variant cuda -SelfTest
#>
param(
    [ValidateSet("cpu", "cuda")] [string] $Variant = "cpu",
    # The Python that creates the build venv (any 64-bit 3.10+).
    [string] $Python = "",
    # Reuse dist\<variant>\UltraIS from an earlier build and only compile the installer.
    [switch] $SkipBundle,
    # Run the bundle's --self-test after building it.
    [switch] $SelfTest
)
$ErrorActionPreference = "Stop"
$Root = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Set-Location $Root

if (-not $SkipBundle) {
    if ($Python -eq "") {
        if (Get-Command py -ErrorAction SilentlyContinue) { $Python = "py" } else { $Python = "python" }
    }
    $buildArgs = @("packaging\build.py", "--variant", $Variant, "--venv", "build\venv-$Variant")
    if ($SelfTest) { $buildArgs += "--self-test" }
    if ($Python -eq "py") { $buildArgs = @("-3") + $buildArgs }
    & $Python @buildArgs
    if ($LASTEXITCODE -ne 0) { throw "packaging\build.py failed ($LASTEXITCODE)" }
}

$bundle = Join-Path $Root "dist\$Variant\UltraIS"
foreach ($exe in @("UltraIS.exe", "UltraIS-cli.exe")) {
    if (-not (Test-Path (Join-Path $bundle $exe))) { throw "$bundle\$exe is missing: build the bundle first" }
}

$match = Select-String -Path (Join-Path $Root "ultrais_core\__init__.py") -Pattern '^__version__ = "(.+)"'
$version = $match.Matches[0].Groups[1].Value

$iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source
if (-not $iscc) {
    foreach ($dir in @(${env:ProgramFiles(x86)}, $env:ProgramFiles, "$env:LOCALAPPDATA\Programs")) {
        $candidate = Join-Path $dir "Inno Setup 6\ISCC.exe"
        if ($dir -and (Test-Path $candidate)) { $iscc = $candidate; break }
    }
}
if (-not $iscc) { throw "ISCC.exe (Inno Setup 6) not found: install it or put it on PATH" }

& $iscc "/DVariant=$Variant" "/DAppVersion=$version" (Join-Path $PSScriptRoot "ultrais.iss")
if ($LASTEXITCODE -ne 0) { throw "ISCC failed ($LASTEXITCODE)" }
Write-Host "installer: $Root\dist\installers\UltraIS-$version-windows-x64-$Variant-setup.exe"
