"""Parses Prometheus text format 0.0.4 from stdin with the official Python client's
parser (Debian python3-prometheus-client) and prints the families as JSON.
Exits non-zero, with the parser's message, on any line the format does not allow."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": f.name,
        "type": f.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples],
    })
json.dump(families, sys.stdout)
