"""Reading the JUnit XML report that a pytest subprocess writes (`--junitxml`)."""

import xml.etree.ElementTree as ElementTree
from pathlib import Path


def outcomes(report: Path) -> dict[str, list[str]]:
    """Test names by outcome (`passed`, `failed`, `skipped`, `xfailed`) from a JUnit report."""
    result = {"passed": [], "failed": [], "skipped": [], "xfailed": []}
    for case in ElementTree.parse(report).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            result["failed"].append(name)
        elif skipped is not None:
            kind = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
            result[kind].append(name)
        else:
            result["passed"].append(name)
    return result
