import yaml

from jetad.data.jets import file_processes, input_files, jetnet_layout, processes


def test_sources_name_only_the_files_params_list(root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["generate"].update(chunks=[3, 7], signals=["top"])
    assert input_files("generate", "data/chunks", params) == [
        "data/chunks/qcd_3.h5", "data/chunks/qcd_7.h5", "data/chunks/top_3.h5",
        "data/chunks/top_7.h5"]
    params["download"]["files"] = ["val.h5", "test.h5"]
    assert input_files("download", "d", params) == ["d/val.h5", "d/test.h5"]
    params["data"]["jetnet_classes"] = ["q", "g", "z"]
    assert input_files("jetnet", "data/jetnet", params) == [
        "data/jetnet/q.hdf5", "data/jetnet/g.hdf5", "data/jetnet/z.hdf5"]


def test_processes_of_jetnet_and_of_generated_gluon_and_quark(root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["jetnet_classes"] = ["t", "g", "q"]
    assert processes("jetnet", params) == ["top", "gluon", "quark"]
    params["generate"].update(backgrounds=["gluon", "quark"], signals=["w"], chunks=[0, 4])
    assert processes("generate", params) == ["gluon", "quark", "w"]
    assert file_processes("generate", params) == ["gluon", "gluon", "quark", "quark", "w", "w"]
    assert not jetnet_layout("generate", params) and jetnet_layout("jetnet", params)
    params["generate"]["layout"] = "jetnet"
    assert jetnet_layout("generate", params) and not jetnet_layout("download", params)
