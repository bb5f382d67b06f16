"""The alias ↔ stored-field translation of a namespace's custom search attributes."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload, SearchAttributes

from engine.visibility.aliases import CustomAttribute, CustomAttributes, renamed, with_added, without
from engine.visibility.attributes import SaType


def attributes(**values: str) -> SearchAttributes:
    message = SearchAttributes()
    for name, value in values.items():
        message.indexed_fields[name].CopyFrom(Payload(data=f'"{value}"'.encode()))
    return message


def names(message: SearchAttributes) -> dict[str, str]:
    return {name: payload.data.decode().strip('"') for name, payload in message.indexed_fields.items()}


def test_untouched_attributes_translate_to_the_same_message() -> None:
    custom = CustomAttributes([CustomAttribute("Team", "Team", SaType.KEYWORD)])
    message = attributes(Team="ops")
    assert custom.identity
    assert custom.to_fields(message) is message
    assert custom.to_aliases(message) is message


def test_a_renamed_attribute_translates_both_ways_and_others_pass_through() -> None:
    custom = renamed(CustomAttributes([CustomAttribute("Team", "Team", SaType.KEYWORD)]), "Team", "Squad")
    assert dict(custom) == {"Squad": SaType.KEYWORD}
    assert names(custom.to_fields(attributes(Squad="ops", BuildIds="b1"))) == {"Team": "ops", "BuildIds": "b1"}
    assert names(custom.to_aliases(attributes(Team="ops", BuildIds="b1"))) == {"Squad": "ops", "BuildIds": "b1"}


def test_a_new_attribute_never_takes_a_field_in_use() -> None:
    custom = renamed(CustomAttributes([CustomAttribute("Team", "Team", SaType.KEYWORD)]), "Team", "Squad")
    assert custom.new_field("Region") == "Region"
    assert custom.new_field("Team") == "Team~2"
    custom = with_added(custom, {"Team": ("Team~2", SaType.INT)})
    assert custom.new_field("Team") == "Team~3"
    assert custom.by_field == {"Team": SaType.KEYWORD, "Team~2": SaType.INT}
    # stored values of both answer by their current names
    assert names(custom.to_aliases(attributes(Team="ops", **{"Team~2": "7"}))) == {"Squad": "ops", "Team": "7"}


def test_a_removed_attributes_values_keep_their_name_unless_a_current_one_answers_by_it() -> None:
    custom = CustomAttributes(
        [CustomAttribute("Squad", "Team", SaType.KEYWORD), CustomAttribute("Old", "Old", SaType.KEYWORD)]
    )
    custom = with_added(without(custom, ["Old"]), {"Ghost": ("Ghost~2", SaType.KEYWORD)})
    stored = attributes(Team="ops", Old="x", Ghost="y", **{"Ghost~2": "z"})
    assert names(custom.to_aliases(stored)) == {"Squad": "ops", "Old": "x", "Ghost": "z"}
