"""The registry's vocabulary (jetad.pipeline.spec) as argparse: an argument's keywords, and a
command with actions (`jetad <command> <action>`); and what a pipeline stage passes."""

import argparse

import pytest

from jetad.pipeline.spec import Action, Arg, Command, Out, Stage, Wildcard


def test_arguments_keep_their_argparse_keywords():
    parser = argparse.ArgumentParser()
    Command("x", "m", "help", args=(
        Arg("name"),
        Arg("--in", dest="inputs", nargs="+", required=True),
        Arg("--n", type=int),
        Arg("--reports", nargs="*", default=[]),
    )).add_to(parser)
    args = parser.parse_args(["a", "--in", "p", "q", "--n", "3"])
    assert (args.name, args.inputs, args.n, args.reports) == ("a", ["p", "q"], 3, [])
    with pytest.raises(SystemExit):
        parser.parse_args(["a"])  # --in is required


def test_a_command_with_actions_parses_each_action():
    parser = argparse.ArgumentParser()
    Command("scan", "m", "help", actions=(
        Action("params", "one run", args=(Arg("--out", required=True),)),
        Action("table", "gather", args=(Arg("--runs", nargs="+", required=True),)),
    )).add_to(parser)
    assert vars(parser.parse_args(["params", "--out", "p.yaml"])) == {
        "action": "params", "out": "p.yaml"}
    assert parser.parse_args(["table", "--runs", "a", "b"]).runs == ["a", "b"]
    with pytest.raises(SystemExit):
        parser.parse_args([])  # an action is required


def test_a_flag_named_like_an_input_output_or_wildcard_takes_it():
    stage = Stage("s", "m", "help", args=(
        Arg("--train"), Arg("--out-dir"), Arg("--in", dest="images"), Arg("--chunk"),
        Arg("--plot"), Arg("--model", value="{input.train}/model.h5")),
        inputs={"train": "a.h5", "images": "b.h5"}, outputs={"out_dir": Out("c", directory=True)},
        wildcards={"chunk": Wildcard(r"\d+")})
    assert [(a.flag, a.value) for a in stage.pipeline_args] == [
        ("--train", "{input.train}"), ("--out-dir", "{output.out_dir}"),
        ("--in", "{input.images}"), ("--chunk", "{wildcards.chunk}"),
        ("--model", "{input.train}/model.h5")]  # --plot: no such output, not passed
    ambiguous = Stage("s", "m", "help", args=(Arg("--x"),), inputs={"x": "a"}, outputs={"x": "b"})
    with pytest.raises(KeyError, match="--x could be"):
        _ = ambiguous.pipeline_args
    missing = Stage("s", "m", "help", args=(Arg("--x", value="{input.y}"),))
    with pytest.raises(KeyError, match="no input y"):
        _ = missing.pipeline_args
