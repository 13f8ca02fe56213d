"""Write the chart library the pages load: src/podsponsor/static/vendor/vega-charts.js.

The bundle is Vega, Vega-Lite and vega-embed (which carries vega-interpreter) exactly as the installed
vl-convert-python wheel bundles them, so the pages draw with the same library versions that render charts on the
server for PDFs and fallbacks. Run it after changing the vl-convert-python version:

    .venv/bin/python scripts/vendor_vega.py

The output is the same bytes for the same wheel; tests/reports/test_charts.py fails while the committed file names
other versions than the installed wheel.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

import vl_convert

TARGET = Path(__file__).resolve().parents[1] / "src" / "podsponsor" / "static" / "vendor" / "vega-charts.js"
# Only vegaEmbed is needed by static/charts.js; vega and vega-lite stay reachable as vegaEmbed.vega/.vegaLite.
SNIPPET = "globalThis.vegaEmbed = vegaEmbed;"


def header() -> str:
    return (
        f"/*! vega {vl_convert.get_vega_version()}, vega-lite {latest_vega_lite()}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}; "
        f"bundled by vl-convert-python {version('vl-convert-python')} (scripts/vendor_vega.py). "
        "Licences: vega-charts.LICENSE */\n"
    )


def latest_vega_lite() -> str:
    return vl_convert.get_vegalite_versions()[-1]


def main() -> int:
    TARGET.write_text(header() + vl_convert.javascript_bundle(SNIPPET) + "\n", encoding="utf-8")
    print(f"{TARGET}: {TARGET.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
