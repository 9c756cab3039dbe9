"""End to end against a real HTTP server on 127.0.0.1 serving a small file in the real layout."""

import hashlib
import http.server
import json
import threading

import numpy as np
import pytest

from jetad.data.download import fetch, record_checksums
from jetad.data.layout import read_jets, write_jets
from jetad.errors import DataError


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    truncate_once: set = set()
    requests: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.split("?")[0].rsplit("/", 1)[-1]
        type(self).requests.append((name, self.headers.get("Range")))
        if self.path.startswith("/api/"):
            body = json.dumps({"files": [
                {"key": k, "checksum": "md5:" + hashlib.md5(v).hexdigest()}
                for k, v in self.files.items()]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        data = self.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.truncate_once:
            type(self).truncate_once.discard(name)
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.connection.close()
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path, make_jets):
    source = tmp_path / "src.h5"
    write_jets(source, make_jets(40, seed=3))
    Handler.files = {"val.h5": source.read_bytes()}
    Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", source
    httpd.shutdown()


def test_download_verifies_md5_from_the_record_api(server, tmp_path):
    url, source = server
    sums = record_checksums(f"{url}/api/records/2603256", timeout=5)
    out = fetch(f"{url}/files/val.h5?download=1", tmp_path / "data" / "val.h5",
                sums["val.h5"], timeout=5, progress=False)
    assert out.read_bytes() == source.read_bytes()
    np.testing.assert_array_equal(read_jets(out).p4, read_jets(source).p4)
    # a second call finds the verified file and sends no request for the data
    n = len(Handler.requests)
    fetch(f"{url}/files/val.h5", out, sums["val.h5"], timeout=5, progress=False)
    assert len(Handler.requests) == n


def test_truncated_transfer_resumes_with_a_range_request(server, tmp_path):
    url, source = server
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    Handler.truncate_once = {"val.h5"}
    out = tmp_path / "val.h5"
    with pytest.raises(DataError, match="run again to resume"):
        fetch(f"{url}/files/val.h5", out, md5, timeout=5, progress=False)
    assert not out.exists()
    part = tmp_path / "val.h5.part"
    partial = part.stat().st_size
    assert 0 < partial < len(source.read_bytes())
    fetch(f"{url}/files/val.h5", out, md5, timeout=5, progress=False)
    assert out.read_bytes() == source.read_bytes()
    assert Handler.requests[-1] == ("val.h5", f"bytes={partial}-")
    assert not part.exists()


def test_wrong_checksum_names_file_and_hashes_and_keeps_the_good_file(server, tmp_path):
    url, source = server
    out = tmp_path / "val.h5"
    good = b"a good file from before"
    out.write_bytes(good)
    wrong = "0" * 32
    actual = hashlib.md5(source.read_bytes()).hexdigest()
    with pytest.raises(DataError, match=f"val.h5: md5 {actual} does not match the published {wrong}"):
        fetch(f"{url}/files/val.h5", out, wrong, timeout=5, progress=False)
    assert out.read_bytes() == good
    assert (tmp_path / "val.h5.bad").exists()


def test_missing_file_is_a_clear_error(server, tmp_path):
    url, _ = server
    with pytest.raises(DataError, match="HTTP 404"):
        fetch(f"{url}/files/test.h5", tmp_path / "test.h5", "0" * 32, timeout=5, progress=False)
