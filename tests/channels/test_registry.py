"""The channel registry: each name leads to its adapter and to its light settings module."""

from __future__ import annotations

import pytest

from monitor.channels import CHANNELS, channel_module, settings_class


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_settings_class_is_the_class_the_adapter_uses(name: str) -> None:
    assert settings_class(name) is channel_module(name).Settings


def test_settings_class_of_an_unknown_channel_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        settings_class("myspace")
