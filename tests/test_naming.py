"""The one output-naming rule (`ultrais_core.naming`): pure, order-free, never colliding."""

from __future__ import annotations

import itertools
import random
from pathlib import Path, PurePosixPath

from ultrais_core.naming import output_name, output_names, output_rels, unique_stems


def folded(names: dict) -> set[str]:
    return {name.casefold() for name in names.values()}


def test_unique_stems_keep_todays_names() -> None:
    names = output_names([Path("a/p0.jpg"), Path("b/p1.png")], 2, "png")
    assert names == {Path("a/p0.jpg"): "p0_ultrais_x2.png", Path("b/p1.png"): "p1_ultrais_x2.png"}
    assert output_name("p0", 2, "png") == "p0_ultrais_x2.png"


def test_a_raw_and_jpeg_pair_carry_their_extensions() -> None:
    names = output_names(
        [Path("IMG_0001.CR2"), Path("IMG_0001.JPG"), Path("IMG_0002.JPG")], 2, "jpg"
    )
    assert names == {
        Path("IMG_0001.CR2"): "IMG_0001_cr2_ultrais_x2.jpg",
        Path("IMG_0001.JPG"): "IMG_0001_jpg_ultrais_x2.jpg",
        Path("IMG_0002.JPG"): "IMG_0002_ultrais_x2.jpg",
    }


def test_stems_differing_in_case_collide_as_on_a_case_insensitive_disk() -> None:
    names = output_names([Path("IMG_0001.JPG"), Path("img_0001.png")], 4, "tif")
    assert names == {
        Path("IMG_0001.JPG"): "IMG_0001_jpg_ultrais_x4.tif",
        Path("img_0001.png"): "img_0001_png_ultrais_x4.tif",
    }


def test_same_extension_in_another_case_gets_a_counter() -> None:
    # Linux allows both side by side; on macOS or Windows their outputs would be one file.
    names = output_names([Path("img_0001.jpg"), Path("IMG_0001.JPG")], 2, "png")
    assert names == {
        Path("IMG_0001.JPG"): "IMG_0001_jpg_ultrais_x2.png",
        Path("img_0001.jpg"): "img_0001_jpg-2_ultrais_x2.png",
    }


def test_three_way_collision_and_one_folder_from_several() -> None:
    sources = [Path("IMG_0001.jpg"), Path("IMG_0001.png"), Path("IMG_0001.tif")]
    assert unique_stems(sources) == {
        sources[0]: "IMG_0001_jpg",
        sources[1]: "IMG_0001_png",
        sources[2]: "IMG_0001_tif",
    }
    # `enhance a/IMG_0001.jpg b/IMG_0001.jpg -o out/`: the extension does not tell them apart.
    stems = unique_stems([Path("b/IMG_0001.jpg"), Path("a/IMG_0001.jpg"), Path("a/IMG_0001.tif")])
    assert stems == {
        Path("a/IMG_0001.jpg"): "IMG_0001_jpg",
        Path("a/IMG_0001.tif"): "IMG_0001_tif",
        Path("b/IMG_0001.jpg"): "IMG_0001_jpg-2",
    }


def test_a_tagged_name_never_takes_a_real_photos_plain_name() -> None:
    sources = [Path("a.jpg"), Path("a.png"), Path("a_jpg.tif"), Path("a_jpg-2.tif"), Path("b")]
    stems = unique_stems(sources)
    assert stems[Path("a_jpg.tif")] == "a_jpg" and stems[Path("a_jpg-2.tif")] == "a_jpg-2"
    assert stems[Path("a.jpg")] == "a_jpg-3" and stems[Path("a.png")] == "a_png"
    assert stems[Path("b")] == "b"
    assert len(folded(stems)) == len(sources)


def test_results_do_not_depend_on_the_order_of_the_inputs() -> None:
    sources = [
        Path(name)
        for name in (
            "IMG_0001.JPG",
            "img_0001.jpg",
            "IMG_0001.CR2",
            "Img_0001.png",
            "IMG_0001_jpg.tif",
            "noext",
            "NOEXT",
            "x.jpg",
        )
    ]
    expected = output_names(sources, 2, "jpg")
    assert len(folded(expected)) == len(sources)  # distinct even on a case-insensitive disk
    rng = random.Random(0)
    for _ in range(50):
        shuffled = sources[:]
        rng.shuffle(shuffled)
        assert output_names(shuffled, 2, "jpg") == expected
    for order in itertools.permutations(sources[:5]):
        assert output_names(order, 2, "jpg") == output_names(sources[:5], 2, "jpg")


def test_a_source_given_twice_is_named_once() -> None:
    assert output_names([Path("a.jpg"), Path("a.jpg")], 2, "png") == {
        Path("a.jpg"): "a_ultrais_x2.png"
    }


def test_batch_paths_collide_only_within_one_output_folder() -> None:
    rels = ["IMG_0001.jpg", "IMG_0001.png", "x/IMG_0001.jpg", "y/IMG_0001.jpg", "Y/img_0001.jpg"]
    assert output_rels(reversed(rels), 2, "png") == {
        "IMG_0001.jpg": "IMG_0001_jpg_ultrais_x2.png",
        "IMG_0001.png": "IMG_0001_png_ultrais_x2.png",
        "x/IMG_0001.jpg": "x/IMG_0001_ultrais_x2.png",
        # y/ and Y/ are one folder on a case-insensitive disk
        "Y/img_0001.jpg": "Y/img_0001_jpg_ultrais_x2.png",
        "y/IMG_0001.jpg": "y/IMG_0001_jpg-2_ultrais_x2.png",
    }


def test_strings_and_pure_paths_work_as_keys() -> None:
    assert output_names(["p.jpg", "p.png"], 1, "webp") == {
        "p.jpg": "p_jpg_ultrais_x1.webp",
        "p.png": "p_png_ultrais_x1.webp",
    }
    assert unique_stems([PurePosixPath("dir/p.tar.gz")]) == {PurePosixPath("dir/p.tar.gz"): "p.tar"}
