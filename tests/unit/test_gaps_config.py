"""GAPS_* settings: defaults, parsing from strings, one-line errors, vague anchors."""

from __future__ import annotations

import pytest

from reports.config import ConfigError
from reports.gaps_config import DEFAULT_VAGUE_ANCHORS, GapsConfig, normalise_anchor


def test_defaults_are_the_documented_ones() -> None:
    config = GapsConfig.from_settings({})
    assert config == GapsConfig()
    assert (config.depth_threshold, config.links, config.candidates) == (3, 20, 5)
    assert (config.min_relevance, config.relevance_weight) == (0.05, 1.0)
    assert config.vague_anchors == tuple(dict.fromkeys(DEFAULT_VAGUE_ANCHORS))


def test_command_line_strings_are_parsed() -> None:
    config = GapsConfig.from_settings(
        {
            "GAPS_DEPTH_THRESHOLD": "4",
            "GAPS_LINKS": "10",
            "GAPS_MIN_RELEVANCE": "0.2",
            "GAPS_VAGUE_ANCHORS": '["Go!", "tap"]',
            "GAPS_VAGUE_ANCHORS_EXTRA": "weiter, hier lesen",
            "GAPS_MAX_OUTLINKS": " ",  # blank: the default
        }
    )
    assert (config.depth_threshold, config.links, config.min_relevance) == (4, 10, 0.2)
    assert config.vague_anchors == ("go", "tap", "weiter", "hier lesen")
    assert config.max_outlinks == GapsConfig().max_outlinks


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GAPS_LINKS", "many", "GAPS_LINKS must be a whole number, got 'many'"),
        ("GAPS_DEPTH_THRESHOLD", "-1", "GAPS_DEPTH_THRESHOLD must be between 0 and 1000"),
        ("GAPS_MIN_RELEVANCE", "1.5", "GAPS_MIN_RELEVANCE must be in [0, 1], got '1.5'"),
        ("GAPS_STARVED_PERCENTILE", "nan", "GAPS_STARVED_PERCENTILE must be in [0, 1]"),
        ("GAPS_CANDIDATES", True, "GAPS_CANDIDATES must be a whole number"),
        ("GAPS_VAGUE_ANCHORS", "[1, 2]", "GAPS_VAGUE_ANCHORS must hold text anchors"),
        ("GAPS_VAGUE_ANCHORS", "[oops", "GAPS_VAGUE_ANCHORS is not valid JSON"),
    ],
)
def test_bad_values_give_one_line_naming_the_setting(
    name: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        GapsConfig.from_settings({name: value})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_thresholds_are_cross_checked() -> None:
    with pytest.raises(ConfigError, match=r"GAPS_MEDIUM_SHARE .* must not exceed GAPS_HIGH_SHARE"):
        GapsConfig.from_settings({"GAPS_HIGH_SHARE": "0.001", "GAPS_MEDIUM_SHARE": "0.01"})


def test_anchors_are_compared_after_normalising() -> None:
    assert normalise_anchor("  Read   MORE » ") == "read more"
    assert normalise_anchor("…lire la suite…") == "lire la suite"
    assert normalise_anchor("Leer más →") == "leer más"
    assert normalise_anchor(None) == ""
    config = GapsConfig()
    for anchor in ("Click here!", "KLIK HIER", "Mehr erfahren", "here", "Haz clic aquí", "[more]"):
        assert config.is_vague(anchor), anchor
    for anchor in ("Waterproof boots", "", "Here be dragons", "More tents"):
        assert not config.is_vague(anchor), anchor


def test_severity_follows_the_share_at_stake() -> None:
    config = GapsConfig(high_share=0.01, medium_share=0.001)
    assert [config.severity(x) for x in (0.02, 0.01, 0.005, 0.0001)] == [
        "high",
        "high",
        "medium",
        "low",
    ]
