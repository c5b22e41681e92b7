"""sync family: ior's file names and payloads; a fresh open per iteration keeps the content."""

import pytest

FILES = {
    "sync_basic": ("syncfile.txt", b"sync me"),
    "sync_fdatasync": ("fdatasyncfile.txt", b"fdatasync me"),
    "sync_sync_file_range": ("syncrangefile.txt", b"sync file range data"),
    "sync_sync_file_range_to_eof": ("syncrangeeoffile.txt", b"sync file range to eof"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_file_has_ior_name_and_content(name, run_files):
    filename, content = FILES[name]
    assert run_files(name, iterations=3) == [{filename: content}]
