"""`jetad download` against a real HTTP server on 127.0.0.1 that serves a record's API and a
file: the md5 comes from params or from the record (the transfer itself:
tests/data/test_download.py)."""

import functools
import hashlib
import http.server
import json
import threading

import pytest
import yaml


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def record(tmp_path, make_jets):
    """(base url, the served file's bytes): /api/records/7 lists val.h5's md5."""
    from jetad.data.layout import write_jets

    served = tmp_path / "served"
    (served / "files").mkdir(parents=True)
    write_jets(served / "files" / "val.h5", make_jets(12, seed=5))
    data = (served / "files" / "val.h5").read_bytes()
    (served / "api" / "records").mkdir(parents=True)
    (served / "api" / "records" / "7").write_text(json.dumps({"files": [
        {"key": "val.h5", "checksum": "md5:" + hashlib.md5(data).hexdigest()}]}))
    handler = functools.partial(Quiet, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", data
    httpd.shutdown()


def _params(tmp_path, root, url, **download):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["download"].update(record=7, url=url + "/files/{name}", api=url + "/api/records/{record}",
                              timeout=5, **download)
    (tmp_path / "work").mkdir(exist_ok=True)
    (tmp_path / "work" / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path / "work"


def test_download_takes_the_md5_from_the_record(tmp_path, root, jetad, record):
    url, data = record
    work = _params(tmp_path, root, url)
    result = jetad(work, "download", "--name", "val.h5", "--out", "dl/val.h5")
    assert (work / "dl" / "val.h5").read_bytes() == data
    assert f"md5 {hashlib.md5(data).hexdigest()} verified" in result.stderr


def test_a_wrong_md5_in_params_is_one_line_and_keeps_nothing_in_place(tmp_path, root, jetad,
                                                                        record):
    url, data = record
    work = _params(tmp_path, root, url, md5={"val.h5": "0" * 32})
    result = jetad(work, "download", "--name", "val.h5", "--out", "dl/val.h5", check=False)
    assert result.returncode == 2
    assert result.stderr == (f"jetad download: error: val.h5: md5 {hashlib.md5(data).hexdigest()}"
                             f" does not match the published {'0' * 32}; the transfer is kept as "
                             "dl/val.h5.bad, dl/val.h5 was not touched\n")
    assert not (work / "dl" / "val.h5").exists()


def test_a_file_the_record_does_not_list_is_one_line(tmp_path, root, jetad, record):
    url, _ = record
    work = _params(tmp_path, root, url)
    result = jetad(work, "download", "--name", "test.h5", "--out", "dl/test.h5", check=False)
    assert result.returncode == 2
    assert result.stderr == (f"jetad download: error: record 7 lists no md5 for test.h5 at "
                             f"{url}/api/records/7\n")
    assert not (work / "dl").exists()
