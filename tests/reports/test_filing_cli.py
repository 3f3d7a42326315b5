"""Filing on the command line: ``hardship reports file``, ``decide`` and ``board``, through the same schema and
operations as the API; bad options exit 2 naming the problem and write nothing."""

from __future__ import annotations

import re


def run(app, *args):
    return app.test_cli_runner().invoke(args=["hardship", "reports", *args])


PERIOD = ("--form", "monthly_funds", "--year", "2026", "--month", "11")


def test_file_return_and_board(app, tree):
    result = run(app, "file", "--tenant", "K0101", *PERIOD, "--user", "k0101_all")
    assert result.exit_code == 0, result.output
    filing_id = re.search(r"filed report (\d+): version 1", result.output).group(1)
    result = run(app, "decide", filing_id, "--action", "return", "--user", "k0101_all", "--reason", "自己退回")
    assert result.exit_code == 2 and "error" in result.output
    result = run(app, "decide", filing_id, "--action", "return", "--user", "c01_all")
    assert result.exit_code == 2 and "reason" in result.output
    result = run(app, "decide", filing_id, "--action", "return", "--user", "c01_all", "--reason", "数字有误")
    assert result.exit_code == 0 and "returned" in result.output, result.output
    result = run(app, "board", "--tenant", "C01", *PERIOD, "--user", "c01_all")
    assert result.exit_code == 0, result.output
    lines = dict(line.split("\t", 1) for line in result.output.strip().splitlines())
    assert lines["K0101"].split("\t")[1] == "returned" and "数字有误" in lines["K0101"]
    assert lines["K0102"].split("\t")[1] == "missing"
    result = run(app, "file", "--tenant", "K0101", *PERIOD, "--user", "k0101_all")
    assert result.exit_code == 0 and "version 2" in result.output


def test_bad_options_write_nothing(app, tree):
    result = run(app, "file", "--tenant", "K0101", "--form", "monthly_funds", "--year", "2026", "--month", "13",
                 "--user", "k0101_all")
    assert result.exit_code == 2 and "month" in result.output
    result = run(app, "file", "--tenant", "K0101", "--form", "nothing", "--year", "2026", "--user", "k0101_all")
    assert result.exit_code == 2 and "form" in result.output
    result = run(app, "board", "--tenant", "C01", *PERIOD, "--user", "c01_all")
    assert "version" not in result.output
