@echo off
rem Build the UltraIS Windows installer: build.bat [cpu^|cuda] [more build.ps1 options]
rem Same as: powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 -Variant cpu
setlocal
set VARIANT=%1
if "%VARIANT%"=="" set VARIANT=cpu
if not "%~1"=="" shift
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0build.ps1" -Variant %VARIANT% %1 %2 %3
exit /b %ERRORLEVEL%
