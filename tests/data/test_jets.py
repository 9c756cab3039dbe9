import yaml

from jetad.data.jets import input_files


def test_sources_name_only_the_files_params_list(root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(chunks=[3, 7], signals=["top"])
    assert input_files("generate", "data/chunks", params) == [
        "data/chunks/qcd_3.h5", "data/chunks/qcd_7.h5", "data/chunks/top_3.h5",
        "data/chunks/top_7.h5"]
    params["download"]["files"] = ["val.h5", "test.h5"]
    assert input_files("download", "d", params) == ["d/val.h5", "d/test.h5"]
