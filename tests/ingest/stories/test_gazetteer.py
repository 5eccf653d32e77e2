"""How free-text Lao place names resolve to province and district codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.form.xlsform import Form
from flows.ingest.stories.gazetteer import (
    Gazetteer,
    PlaceMatch,
    build_gazetteer,
    gazetteer_for,
    normalise,
    parse_name,
    sub_parts,
)


@pytest.fixture(scope="module")
def gazetteer(form: Form) -> Gazetteer:
    return gazetteer_for(form)


def resolved(gazetteer: Gazetteer, place: str) -> tuple[str | None, str | None, str]:
    match = gazetteer.resolve(place)
    return match.adm1_code, match.adm2_code, match.match_quality


# Official names: pycountry's ISO 3166-2 names and translations, and the form's labels


@pytest.mark.parametrize(
    "place",
    [
        "Louang Namtha",  # pycountry English
        "Luang Namtha",  # the form's adm1 label
        "Luang Namtha Province",
        "ຫຼວງນ້ຳທາ",  # pycountry Lao
        "ແຂວງຫຼວງນ້ຳທາ",  # Lao with the word for province joined on
        "หลวงน้ำทา",  # pycountry Thai
        "琅南塔",  # pycountry Chinese
        "琅南塔省",
    ],
)
def test_official_province_names_in_any_script_resolve_exactly(
    gazetteer: Gazetteer, place: str
) -> None:
    assert resolved(gazetteer, place) == ("LA-LM", None, "exact")


@pytest.mark.parametrize(
    ("place", "province"),
    [
        ("Oudomxai", "LA-OU"),  # pycountry 'Oudômxai' without its accent
        ("OUDOMXAY", "LA-OU"),  # the form's label in capitals
        ("Luang Nam Tha", "LA-LM"),  # spacing is not part of a romanised name
        ("Xieng Khouang", "LA-XI"),  # the form's 'Xiengkhouang'
        ("Savannakhét", "LA-SV"),
    ],
)
def test_case_accents_and_spacing_do_not_weaken_an_exact_match(
    gazetteer: Gazetteer, place: str, province: str
) -> None:
    assert resolved(gazetteer, place) == (province, None, "exact")


def test_a_district_label_from_the_form_gives_district_and_its_province(
    gazetteer: Gazetteer,
) -> None:
    assert resolved(gazetteer, "Samphanh") == ("LA-PH", "LA0204", "exact")
    assert resolved(gazetteer, "Sing District") == ("LA-LM", "LA0302", "exact")
    assert resolved(gazetteer, "Meuang Sing") == ("LA-LM", "LA0302", "exact")


def test_a_name_shared_by_a_province_and_its_capital_district_gives_the_province_only(
    gazetteer: Gazetteer,
) -> None:
    assert resolved(gazetteer, "Phongsaly") == ("LA-PH", None, "exact")


def test_the_word_district_picks_the_district_of_a_shared_name(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Phongsaly District") == ("LA-PH", "LA0201", "exact")
    assert resolved(gazetteer, "Muang Phongsaly") == ("LA-PH", "LA0201", "exact")


# Lao-script district names: the official names in Lao, recorded in the alias list as exact


@pytest.mark.parametrize(
    ("name", "province", "district"),
    [
        ("ຜົ້ງສາລີ", "LA-PH", "LA0201"),
        ("ໃໝ່", "LA-PH", "LA0202"),
        ("ຂວາ", "LA-PH", "LA0203"),
        ("ສຳພັນ", "LA-PH", "LA0204"),
        ("ບູນເໜືອ", "LA-PH", "LA0205"),
        ("ຍອດອູ", "LA-PH", "LA0206"),
        ("ບູນໃຕ້", "LA-PH", "LA0207"),
        ("ນ້ຳທາ", "LA-LM", "LA0301"),
        ("ສິງ", "LA-LM", "LA0302"),
        ("ລອງ", "LA-LM", "LA0303"),
        ("ວຽງພູຄາ", "LA-LM", "LA0304"),
        ("ນາແລ", "LA-LM", "LA0305"),
    ],
)
def test_each_district_of_the_form_resolves_exactly_by_its_lao_name(
    gazetteer: Gazetteer, name: str, province: str, district: str
) -> None:
    for place in (f"ເມືອງ{name}", f"ເມືອງ {name}"):
        match = gazetteer.resolve(place)
        assert (match.adm1_code, match.adm2_code, match.match_quality) == (
            province,
            district,
            "exact",
        )
        assert match.note is None  # the row's "Lao name" note documents the list only


def test_the_lao_name_shared_by_phongsaly_province_and_district_behaves_like_the_english(
    gazetteer: Gazetteer,
) -> None:
    assert resolved(gazetteer, "ຜົ້ງສາລີ") == ("LA-PH", None, "exact")
    assert resolved(gazetteer, "ເມືອງຜົ້ງສາລີ") == ("LA-PH", "LA0201", "exact")


def test_muang_namtha_in_lao_is_namtha_district(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "ເມືອງນ້ຳທາ") == ("LA-LM", "LA0301", "exact")


def test_romanised_namtha_district_still_resolves(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Muang Namtha") == ("LA-LM", "LA0301", "exact")
    assert resolved(gazetteer, "Namtha District, Luang Namtha") == ("LA-LM", "LA0301", "exact")


@pytest.mark.parametrize(
    ("written", "usual"),
    [
        ("ນໍ້າທາ", "ນ້ຳທາ"),  # tone mark typed before the nikhahit of AM
        ("ຫລວງນ້ຳທາ", "ຫຼວງນ້ຳທາ"),  # HO + LO with the letter, not the subscript
        ("หลวงนํ้าทา", "หลวงน้ำทา"),  # Thai: tone mark before the nikhahit of AM
    ],
)
def test_lao_and_thai_spelling_variants_normalise_alike(written: str, usual: str) -> None:
    assert normalise(written) == normalise(usual)


def test_lao_spelling_variants_resolve_exactly(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "ເມືອງນໍ້າທາ ແຂວງຫລວງນໍ້າທາ") == ("LA-LM", "LA0301", "exact")
    assert resolved(gazetteer, "หลวงนํ้าทา") == ("LA-LM", None, "exact")


def test_a_short_vowel_lao_spelling_resolves_by_alias(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve("ເມືອງບຸນເໜືອ")
    assert (match.adm1_code, match.adm2_code, match.match_quality) == ("LA-PH", "LA0205", "alias")
    assert match.note is not None and "spelling" in match.note


# Lao and Thai parts split into phrases


def test_muang_sing_luang_namtha_in_lao_separated_by_a_space_is_sing_district(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve("ເມືອງສິງ ແຂວງຫຼວງນ້ຳທາ")
    assert match == PlaceMatch("LA-LM", "LA0302", "exact", None)


@pytest.mark.parametrize(
    "place",
    [
        "ເມືອງ ສິງ ແຂວງ ຫຼວງນ້ຳທາ",  # generic words standalone: hints on the name after them
        "ເມືອງສິງ ແຂວງຫຼວງ ນ້ຳທາ",  # a space inside the province name stays in its phrase
        "ສິງ ຫຼວງນ້ຳທາ",  # no generic words: split at every space
        "ເມືອງສິງ ແຂວງຫຼວງນ້ຳທາ ລາວ",  # the country as a phrase is ignored
    ],
)
def test_lao_phrases_split_at_generic_words_else_at_spaces(
    gazetteer: Gazetteer, place: str
) -> None:
    assert gazetteer.resolve(place) == PlaceMatch("LA-LM", "LA0302", "exact", None)


def test_sub_parts_open_at_lao_generic_words_and_only_for_lao_or_thai() -> None:
    assert sub_parts("ເມືອງ ສິງ ແຂວງຫຼວງ ນ້ຳທາ") == ["ເມືອງ ສິງ", "ແຂວງຫຼວງ ນ້ຳທາ"]
    assert sub_parts("ສິງ ຫຼວງນ້ຳທາ") == ["ສິງ", "ຫຼວງນ້ຳທາ"]
    assert sub_parts("ເມືອງສິງ") == []
    assert sub_parts("Boun Neua District") == []


def test_a_lao_part_that_resolves_whole_is_not_split(gazetteer: Gazetteer) -> None:
    # "ນ້ຳທາ" alone would be Namtha district; the whole is Luang Namtha province.
    assert resolved(gazetteer, "ຫຼວງ ນ້ຳທາ") == ("LA-LM", None, "exact")


def test_latin_parts_are_never_split_at_spaces(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Boun Neua") == ("LA-PH", "LA0205", "exact")
    assert resolved(gazetteer, "Luang Namtha") == ("LA-LM", None, "exact")


def test_a_lao_phrase_contradicting_the_district_is_flagged(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve("ເມືອງສິງ ແຂວງຜົ້ງສາລີ")
    assert (match.adm1_code, match.adm2_code) == ("LA-LM", "LA0302")
    assert match.note == "'ແຂວງຜົ້ງສາລີ' contradicts LA0302 (LA-LM)"


def test_thai_phrases_split_too_and_an_unknown_one_is_reported(gazetteer: Gazetteer) -> None:
    # No Thai district names are recorded: the province phrase still resolves.
    match = gazetteer.resolve("เมืองสิงห์ แขวงหลวงน้ำทา")
    assert match == PlaceMatch("LA-LM", None, "exact", "no match for 'เมืองสิงห์'")


def test_a_lao_part_none_of_whose_phrases_is_a_place_stays_whole_and_unmatched(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve("ໃກ້ ຊາຍແດນ ຈີນ")  # "near the Chinese border"
    assert match == PlaceMatch(None, None, "unmatched", "no match for 'ໃກ້ ຊາຍແດນ ຈີນ'")


# Aliases


def test_nateuy_resolves_to_namtha_district_by_alias(gazetteer: Gazetteer) -> None:
    match = gazetteer.resolve("Nateuy")
    assert (match.adm1_code, match.adm2_code, match.match_quality) == ("LA-LM", "LA0301", "alias")
    assert match.note is not None and "village" in match.note


def test_muang_sing_resolves_to_sing_district_by_alias(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Muang Sing") == ("LA-LM", "LA0302", "alias")


def test_samphanxay_resolves_to_samphanh_by_alias_and_is_flagged_as_not_a_district(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve("Samphanxay District, Phongsaly")
    assert (match.adm1_code, match.adm2_code, match.match_quality) == ("LA-PH", "LA0204", "alias")
    assert match.note is not None and "not a district" in match.note


def test_district_and_province_parts_combine_with_the_weakest_method_for_the_district(
    gazetteer: Gazetteer,
) -> None:
    assert resolved(gazetteer, "Nateuy District, Luang Namtha Province") == (
        "LA-LM",
        "LA0301",
        "alias",
    )


def test_an_alias_list_row_marked_exact_is_an_official_name(form: Form, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    aliases.write_text(
        "alias,adm1_code,adm2_code,note,match\n"
        "Xyzzy,LA-LM,LA0301,official name from somewhere,exact\n"
        "Plugh,LA-LM,LA0301,an unofficial name,\n",
        encoding="utf-8",
    )
    gazetteer = build_gazetteer(form, aliases)
    assert gazetteer.resolve("Xyzzy") == PlaceMatch("LA-LM", "LA0301", "exact", None)
    assert gazetteer.resolve("Plugh") == PlaceMatch(
        "LA-LM", "LA0301", "alias", "an unofficial name"
    )


def test_an_alias_list_with_an_unknown_match_value_is_refused(form: Form, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    aliases.write_text(
        "alias,adm1_code,adm2_code,note,match\nXyzzy,LA-LM,LA0301,,official\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="exact or alias"):
        build_gazetteer(form, aliases)


def test_an_alias_list_naming_an_unknown_district_is_refused(form: Form, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("alias,adm1_code,adm2_code,note\nNowhere,LA-PH,LA0301,\n", encoding="utf-8")
    with pytest.raises(ValueError, match="inconsistent"):
        build_gazetteer(form, aliases)


# Fuzzy matching


@pytest.mark.parametrize(
    ("place", "province"),
    [
        ("Luang Namta", "LA-LM"),
        ("Phongsally", "LA-PH"),
        ("Savanakhet", "LA-SV"),
        ("Huaphan", "LA-HO"),
    ],
)
def test_a_misspelt_province_matches_fuzzily_and_says_so(
    gazetteer: Gazetteer, place: str, province: str
) -> None:
    match = gazetteer.resolve(place)
    assert (match.adm1_code, match.adm2_code, match.match_quality) == (province, None, "fuzzy")
    assert match.note is not None and "spelling" in match.note


@pytest.mark.parametrize("place", ["Oudomsay", "Sin", "Mai", "Namthaxay"])
def test_fuzzy_matching_refuses_short_names_and_loose_resemblances(
    gazetteer: Gazetteer, place: str
) -> None:
    assert resolved(gazetteer, place) == (None, None, "unmatched")


# Vientiane: two ISO 3166-2 subdivisions are called "Viangchan"


@pytest.mark.parametrize(
    "place",
    [
        "Vientiane Capital",
        "Vientiane Prefecture",
        "Vientiane City",
        "Nakhon Luang Vientiane",
        "ນະຄອນຫຼວງວຽງຈັນ",
        "นครหลวงเวียงจันทน์",
        "万象市",
    ],
)
def test_vientiane_with_a_capital_word_is_the_prefecture(gazetteer: Gazetteer, place: str) -> None:
    assert gazetteer.resolve(place).adm1_code == "LA-VT"


@pytest.mark.parametrize(
    "place", ["Vientiane Province", "Viangchan Province", "ແຂວງວຽງຈັນ", "万象省"]
)
def test_vientiane_with_a_province_word_is_the_province(gazetteer: Gazetteer, place: str) -> None:
    assert gazetteer.resolve(place).adm1_code == "LA-VI"


@pytest.mark.parametrize("place", ["Vientiane", "Viangchan", "ວຽງຈັນ"])
def test_a_bare_vientiane_is_ambiguous_and_left_unmatched(gazetteer: Gazetteer, place: str) -> None:
    match = gazetteer.resolve(place)
    assert (match.adm1_code, match.adm2_code, match.match_quality) == (None, None, "unmatched")
    assert match.note is not None and "ambiguous" in match.note


def test_a_province_part_settles_a_bare_vientiane(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Vientiane, Vientiane Province") == ("LA-VI", None, "exact")


# Combining parts


def test_a_contradicting_province_part_is_overruled_by_the_district_and_flagged(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve("Sing District, Phongsaly Province")
    assert (match.adm1_code, match.adm2_code) == ("LA-LM", "LA0302")
    assert match.note is not None and "contradicts" in match.note


def test_unresolved_parts_and_the_country_do_not_spoil_a_match_but_are_reported(
    gazetteer: Gazetteer,
) -> None:
    match = gazetteer.resolve("Ban Nalai, Sing District, Luang Namtha, Lao PDR")
    assert (match.adm1_code, match.adm2_code, match.match_quality) == ("LA-LM", "LA0302", "exact")
    assert match.note == "no match for 'Ban Nalai'"


def test_two_districts_of_one_province_give_only_the_province(gazetteer: Gazetteer) -> None:
    assert resolved(gazetteer, "Namtha, Sing") == ("LA-LM", None, "exact")


def test_parts_in_different_provinces_without_a_district_are_unmatched(
    gazetteer: Gazetteer,
) -> None:
    assert resolved(gazetteer, "Luang Namtha, Phongsaly") == (None, None, "unmatched")


# Unmatched


@pytest.mark.parametrize("place", ["Bangkok", "Mengla, Yunnan, China", "Laos", ""])
def test_a_place_that_matches_nothing_stays_unmatched_and_is_never_guessed(
    gazetteer: Gazetteer, place: str
) -> None:
    match = gazetteer.resolve(place)
    assert match == PlaceMatch(None, None, "unmatched", match.note)
    assert match.note


def test_names_are_normalised_to_keys_without_generic_words() -> None:
    parsed = parse_name("Nateuy District,")
    assert (parsed.full, parsed.core, parsed.kinds) == ("nateuydistrict", "nateuy", {"district"})


@pytest.mark.parametrize("place", ["Ban May", "ບ້ານໃໝ່", "Ban Samphanh"])
def test_a_village_that_shares_a_district_name_is_not_taken_for_the_district(place, gazetteer):
    match = gazetteer.resolve(place)
    assert (match.adm2_code, match.match_quality) == (None, "unmatched")


def test_a_village_in_the_alias_list_still_resolves(gazetteer):
    match = gazetteer.resolve("Ban Nateuy")
    assert match.adm2_code == "LA0301"
