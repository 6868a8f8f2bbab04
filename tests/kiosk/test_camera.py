"""Frame sources for --camera: folders in name order, video files, and advice when there is nothing to open."""

from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from hub.errors import AtriumError
from kiosk.camera import CameraUnavailable, Frame, open_camera


def grey(level: int) -> Frame:
    return np.full((48, 64, 3), level, np.uint8)


def levels(frames: list[Frame]) -> list[int]:
    return [round(float(frame.mean())) for frame in frames]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, level in (("frame-02.png", 20), ("frame-01.jpg", 10), ("frame-10.PNG", 30)):
        cv2.imwrite(str(tmp_path / name), grey(level))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "frame-05.png.partial").write_bytes(b"")
    return tmp_path


def write_video(path: Path, fourcc: str, count: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 10.0, (64, 48))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for index in range(count):
        writer.write(grey(40 * (index + 1)))
    writer.release()


def test_folder_yields_its_images_in_name_order(folder: Path) -> None:
    with open_camera(str(folder)) as frames:
        assert levels(list(frames)) == [10, 20, 30]
        assert "3 images" in frames.description


def test_folder_can_loop(folder: Path) -> None:
    with open_camera(folder, loop=True) as frames:
        assert levels(list(islice(frames, 7))) == [10, 20, 30, 10, 20, 30, 10]


def test_unreadable_images_are_skipped(folder: Path) -> None:
    (folder / "frame-03.png").write_bytes(b"not a png")
    with open_camera(folder) as frames:
        assert levels(list(frames)) == [10, 20, 30]


def test_one_image_is_a_source_too(folder: Path) -> None:
    with open_camera(str(folder / "frame-02.png"), loop=True) as frames:
        assert levels(list(islice(frames, 3))) == [20, 20, 20]


@pytest.mark.parametrize(("fourcc", "suffix"), [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_video_file_yields_its_frames(tmp_path: Path, fourcc: str, suffix: str) -> None:
    video = tmp_path / f"visitor{suffix}"
    write_video(video, fourcc, 5)
    with open_camera(str(video)) as frames:
        seen = levels(list(frames))
    assert len(seen) == 5
    assert all(abs(level - 40 * (index + 1)) <= 3 for index, level in enumerate(seen))


def test_video_file_can_loop(tmp_path: Path) -> None:
    video = tmp_path / "visitor.avi"
    write_video(video, "MJPG", 3)
    with open_camera(video, loop=True) as frames:
        assert len(list(islice(frames, 8))) == 8


def test_closing_ends_iteration(tmp_path: Path) -> None:
    video = tmp_path / "visitor.avi"
    write_video(video, "MJPG", 3)
    frames = open_camera(video)
    next(frames)
    frames.close()
    assert list(frames) == []


@pytest.mark.parametrize("index", [97, "97"])
def test_missing_camera_says_what_to_do(index: int | str) -> None:
    with pytest.raises(CameraUnavailable) as missing:
        open_camera(index)
    assert str(missing.value) == (
        "No camera at index 97. Use --camera PATH to read a video file or a folder of images."
    )
    assert isinstance(missing.value, AtriumError)


def test_missing_file_or_folder(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailable, match=r"No such file or folder: .*nowhere\.mp4\. Use --camera with"):
        open_camera(str(tmp_path / "nowhere.mp4"))
    with pytest.raises(CameraUnavailable, match="No such file or folder"):
        open_camera(tmp_path / "no-folder")


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailable, match=r"No \.png or \.jpg images in the folder"):
        open_camera(tmp_path)


def test_file_that_is_not_a_video(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.mp4"
    bogus.write_text("hello")
    with pytest.raises(CameraUnavailable, match=r"video file .*bogus\.mp4.*Use --camera with"):
        open_camera(bogus)
