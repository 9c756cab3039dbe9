"""The registry's vocabulary (jetad.pipeline.spec) as argparse: an argument's keywords, and a
command with actions (`jetad <command> <action>`)."""

import argparse

import pytest

from jetad.pipeline.spec import Action, Arg, Command


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
