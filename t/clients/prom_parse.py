#!/usr/bin/python3
"""
Parses Prometheus' text exposition format from stdin with the Prometheus
project's own parser (Debian: python3-prometheus-client) and prints it as
JSON: {"<family>": {"type": T, "samples": [[name, {labels}, value], ...]}}.
A parse error: {"error": "..."} and exit status 1.
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = sys.stdin.read()
    out = {}
    try:
        for fam in text_string_to_metric_families(text):
            out[fam.name] = {
                "type": fam.type,
                "samples": [[s.name, s.labels, s.value] for s in fam.samples],
            }
    except Exception as e:  # the parser raises ValueError and others
        print(json.dumps({"error": repr(e)}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
