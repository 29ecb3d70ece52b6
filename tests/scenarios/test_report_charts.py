"""The report's charts: heat-map text readable on every cell, money in yuan, alt text that says what is shown."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import colormaps  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from scenarios.report_charts import heatmap_figure, money_chart, text_colour  # noqa: E402


@pytest.mark.parametrize(("colour", "text"), [("black", "white"), ("white", "black"), ("#08306b", "white"), ("#f7fbff", "black"),
                                              ("#757575", "white"), ("#767676", "black"), ("yellow", "black"), ("blue", "white")])
def test_text_colour_by_luminance(colour, text):
    # #757575 / #767676 straddle the WCAG luminance where black and white contrast equally
    assert text_colour(to_rgba(colour)) == text


def test_heatmap_text_is_white_on_dark_cells_and_black_on_light(tmp_path):
    alloc = pd.DataFrame({"offer_id": ["a", "a", "b", "b"], "channel_id": ["call", "sms", "call", "sms"],
                          "spend": [9000.0, 10.0, 4500.0, 0.0], "contacts": [100, 50, 40, 0]})
    fig, alt = heatmap_figure(alloc)
    colours = {t.get_text().split(" yuan")[0]: t.get_color() for t in fig.axes[0].texts}
    assert colours["9,000"] == "white" and colours["10"] == "black" and colours["0"] == "black"
    cmap = colormaps["Blues"]
    assert colours["4,500"] == text_colour(cmap(0.5))
    assert "Heat map of expected spend in yuan" in alt and "a by call, 9,000 yuan for 100 contacts" in alt
    assert fig.axes[1].get_ylabel() == "expected spend (yuan)"


def test_money_chart_labels_yuan_and_says_what_it_shows():
    table = pd.DataFrame({"channel_id": ["call", "sms"], "spend": [20000.0, 10000.0], "expected_return": [80000.0, 50000.0],
                          "net_value": [60000.0, 40000.0]})
    img = money_chart(table, "channel_id", "channel", "over 24 months")
    assert 'alt="Bar chart: expected spend, expected return and expected net value in yuan by channel. Largest net value: call, ' \
           '60,000 yuan on a spend of 20,000 yuan."' in img
