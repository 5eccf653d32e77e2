"""What the sample looks like: Kobo details and realistic shares of each answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.sample.timeline import _lt

APPROVED = "validation_status_approved"
NOT_APPROVED = "validation_status_not_approved"
ON_HOLD = "validation_status_on_hold"
_STATUS_LABELS = {
    APPROVED: ("Approved", "#00ff00"),
    NOT_APPROVED: ("Not approved", "#ff0000"),
    ON_HOLD: ("On hold", "#0000ff"),
}
# Kobo's system columns in the order its exports write them.
KOBO_SYSTEM_COLUMNS = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "__version__",
    "_tags",
    "_index",
)
# Kobo asset version ids: the deployed form changed on NEW_VERSION_FROM, adding a question.
FORM_VERSIONS = ("vT8rQmZ4kXc2LpN6sWd3Hy", "vB5nHs9YqE2tGm7KxR4jLa")
NEW_VERSION_FROM = _lt(2026, 6, 5)
NEW_VERSION_COLUMN = "work/remittance_channel"
_NEW_VERSION_KEY = "remittance_channel"
_KOBO_ID_BASE = 412_000_000

# --------------------------------------------------------------------------- realism tables
# Codes below are checked against the form's choice lists when a generator is built.


@dataclass(frozen=True)
class _FmpProfile:
    prefix: str  # enumerator and observer ids
    weight: float  # share of survey interviews
    lat: float
    lon: float
    alt: float
    enumerators: int
    origin: Mapping[str, float]  # adm1 of usual residence
    transport: Mapping[str, float]
    daily_outflow: int  # registry: people counted leaving on an observed day
    weekdays: tuple[int, ...]  # registry: observed days, Monday = 0
    hours: float  # registry: hours observed per day


_EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
_MON_SAT = (0, 1, 2, 3, 4, 5)
_NORTH_ORIGINS = {"LA-LM": 30, "LA-OU": 24, "LA-LP": 14, "LA-PH": 11, "LA-BK": 7, "LA-HO": 5}
_FMP_PROFILES: dict[str, _FmpProfile] = {
    "LAO_FMP_001": _FmpProfile(
        "BTR", 30, 21.1826, 101.6731, 563, 6,
        {**_NORTH_ORIGINS, "LA-XA": 4, "LA-VT": 3, "LA-VI": 2},
        {"bus": 35, "minivan": 25, "truck": 15, "car": 15, "motorbike": 10},
        220, _EVERY_DAY, 11.0,
    ),
    "LAO_FMP_002": _FmpProfile(
        "BTS", 22, 21.1705, 101.6804, 580, 5,
        {**_NORTH_ORIGINS, "LA-LM": 16, "LA-VT": 14, "LA-VI": 10, "LA-XA": 6, "LA-XI": 4},
        {"train": 100},
        160, _EVERY_DAY, 9.0,
    ),
    "LAO_FMP_003": _FmpProfile(
        "PHI", 5, 21.2927, 101.1462, 640, 3,
        {"LA-LM": 70, "LA-BK": 12, "LA-OU": 12, "LA-LP": 6},
        {"motorbike": 30, "truck": 25, "minivan": 20, "car": 15, "on_foot": 10},
        35, _MON_SAT, 8.0,
    ),
    "LAO_FMP_004": _FmpProfile(
        "LTI", 4, 21.6839, 101.9650, 905, 3,
        {"LA-PH": 82, "LA-OU": 12, "LA-LM": 6},
        {"motorbike": 35, "truck": 25, "minivan": 25, "on_foot": 15},
        20, _MON_SAT, 8.0,
    ),
    "LAO_FMP_005": _FmpProfile(
        "FB1", 16, 17.8795, 102.7160, 170, 6,
        {"LA-VT": 24, "LA-VI": 18, "LA-BL": 9, "LA-XA": 8, "LA-LP": 8, "LA-KH": 7, "LA-XI": 6,
         "LA-HO": 5, "LA-XS": 5, "LA-SV": 5, "LA-OU": 3, "LA-CH": 2},
        {"bus": 45, "minivan": 25, "car": 20, "motorbike": 5, "on_foot": 5},
        260, _EVERY_DAY, 12.0,
    ),
    "LAO_FMP_006": _FmpProfile(
        "VBS", 8, 17.9661, 102.6122, 172, 4,
        {"LA-VT": 10, "LA-VI": 12, "LA-LP": 10, "LA-XI": 8, "LA-HO": 8, "LA-XA": 8, "LA-BL": 8,
         "LA-KH": 8, "LA-SV": 8, "LA-OU": 6, "LA-XS": 4, "LA-SL": 4, "LA-CH": 4, "LA-PH": 2},
        {"bus": 85, "minivan": 15},
        90, _EVERY_DAY, 10.0,
    ),
    "LAO_FMP_007": _FmpProfile(
        "FB4", 7, 20.2433, 100.4472, 370, 4,
        {"LA-BK": 40, "LA-LP": 16, "LA-LM": 14, "LA-OU": 14, "LA-XA": 12, "LA-PH": 4},
        {"bus": 40, "minivan": 25, "car": 20, "motorbike": 15},
        80, _MON_SAT, 10.0,
    ),
    "LAO_FMP_008": _FmpProfile(
        "DSV", 8, 16.6253, 106.5960, 460, 4,
        {"LA-SV": 58, "LA-SL": 14, "LA-KH": 10, "LA-XE": 6, "LA-CH": 6, "LA-AT": 6},
        {"bus": 35, "truck": 25, "minivan": 25, "car": 15},
        70, _MON_SAT, 10.0,
    ),
}  # fmt: skip

_NORTH = frozenset({"LA-PH", "LA-LM", "LA-OU", "LA-BK", "LA-LP", "LA-HO", "LA-XA", "LA-XI"})
_NEIGHBOUR_SHARE = 0.88  # destination = the crossing's neighbouring country
_OTHER_DESTINATIONS = {
    "THA": 35, "CHN": 15, "MYS": 12, "KOR": 12, "VNM": 6, "JPN": 6, "SGP": 4, "KHM": 4,
    "MMR": 2, "other": 4,
}  # fmt: skip
_DEST_AREA_WEIGHTS = {"CN-YN": 8, "CN-GD": 2, "TH-10": 6, "TH-11": 2, "TH-20": 2, "TH-57": 2}
_ADM2_WEIGHTS = {"LA0301": 5, "LA0302": 3, "LA0201": 3}
_FEMALE_SHARE = {"THA": 0.5, "CHN": 0.36, "VNM": 0.3, "MYS": 0.45, "KOR": 0.22, "SGP": 0.55}
_ETHNICITY = {
    "north": {"lao": 30, "khmu": 25, "hmong": 15, "akha": 10, "tai_lue": 8, "phunoi": 6,
              "yao": 4, "other": 2},
    "south": {"lao": 82, "khmu": 4, "hmong": 5, "other": 9},
}  # fmt: skip
_EDUCATION = {
    "none": 12, "primary": 35, "lower_secondary": 28, "upper_secondary": 15, "vocational": 6,
    "tertiary": 4,
}  # fmt: skip
_REASON = {
    "economic": 74, "seasonal_work": 10, "family": 8, "education": 2, "health": 2,
    "disaster": 1, "conflict_violence": 0.5, "other": 2.5,
}  # fmt: skip
_TRAVEL_WITH = {"alone": 40, "with_group": 35, "with_family": 25}
_EMPLOYMENT = {
    "self_employed": 35, "employed": 25, "unemployed_looking": 25, "student": 7, "homemaker": 5,
    "unemployed_not_looking": 2, "retired": 1,
}  # fmt: skip
_SECTOR_BEFORE = {
    "north": {"agriculture": 40, "rubber": 18, "construction": 8, "trade": 6, "transport": 3,
              "manufacturing": 3, "hospitality": 2, "other": 5},
    "south": {"agriculture": 38, "construction": 12, "trade": 12, "manufacturing": 9,
              "hospitality": 7, "transport": 5, "fishing": 4, "other": 8},
}  # fmt: skip
_SECTOR_DESTINATION = {
    "CHN": {"agriculture": 35, "rubber": 15, "construction": 20, "manufacturing": 15,
            "trade": 5, "hospitality": 5, "other": 5},
    "THA": {"manufacturing": 25, "construction": 20, "agriculture": 15, "domestic_work": 12,
            "hospitality": 12, "entertainment": 5, "trade": 4, "fishing": 3, "other": 4},
    "VNM": {"construction": 30, "trade": 30, "agriculture": 20, "transport": 20},
    "MYS": {"manufacturing": 40, "hospitality": 20, "construction": 20, "domestic_work": 20},
    "KOR": {"agriculture": 50, "manufacturing": 40, "fishing": 10},
    "": {"manufacturing": 35, "hospitality": 25, "agriculture": 20, "other": 20},
}  # fmt: skip
_CHANNEL = {
    "CHN": {"friends_family": 35, "self_arranged": 25, "informal_broker": 20,
            "licensed_agency": 15, "employer_direct": 5},
    "THA": {"friends_family": 35, "informal_broker": 25, "government_mou": 15,
            "self_arranged": 10, "licensed_agency": 10, "employer_direct": 5},
    "KOR": {"government_mou": 90, "licensed_agency": 10},
    "": {"licensed_agency": 40, "friends_family": 30, "informal_broker": 20, "self_arranged": 10},
}  # fmt: skip
_FORMAL_CHANNELS = frozenset({"licensed_agency", "government_mou", "employer_direct"})
_CONTRACT = {
    "formal": {"yes": 80, "no": 12, "dont_know": 8},
    "informal": {"yes": 15, "no": 70, "dont_know": 15},
}
_CURRENCY_OF = {"CHN": "CNY", "THA": "THB", "VNM": "VND", "MYS": "MYR", "KOR": "KRW"}
_INCOME_RANGE = {  # currency: (low, high, unit); the amount is randint(low, high) * unit
    "CNY": (25, 60, 100), "THB": (14, 32, 500), "VND": (10, 24, 500_000), "MYR": (26, 52, 50),
    "KRW": (38, 52, 50_000), "USD": (6, 24, 50), "LAK": (25, 120, 100_000),
}  # fmt: skip
_JOURNEY_COST = {"CHN": (30, 250), "THA": (50, 500), "VNM": (30, 200), "MYS": (300, 1500),
                 "KOR": (1000, 3500), "": (100, 1200)}  # fmt: skip  # x 10,000 LAK
_FUNDING = {"savings": 0.55, "family_friends": 0.3, "loan": 0.18, "employer": 0.08,
            "agency": 0.05, "other": 0.02}  # fmt: skip
_DOCUMENTS = {
    "CHN": {"border_pass": 0.55, "passport": 0.4, "work_permit": 0.15, "national_id": 0.6},
    "THA": {"passport": 0.6, "border_pass": 0.3, "work_permit": 0.3, "national_id": 0.5,
            "visa": 0.05},
    "VNM": {"border_pass": 0.5, "passport": 0.4, "national_id": 0.6},
    "": {"passport": 0.9, "visa": 0.6, "work_permit": 0.5, "national_id": 0.4},
}  # fmt: skip
_RISKS = {"wages_withheld": 0.12, "forced_overtime": 0.14, "documents_withheld": 0.07,
          "debt_pressure": 0.06, "confinement": 0.03}  # fmt: skip
_STAY = {"lt_3m": 15, "3_6m": 20, "6_12m": 25, "1_2y": 20, "gt_2y": 10, "unknown": 10}
_PREVIOUS = {"0": 45, "1": 20, "2": 13, "3": 8, "4": 5, "5": 4, "6": 2, "8": 2, "10": 1}
_REMIT = {"yes": 80, "no": 10, "dont_know": 10}
_REMITTANCE_CHANNELS = {"mobile_money": 30, "bank_transfer": 30, "informal_agent": 20,
                        "cash_carried": 20}  # fmt: skip

# Direct identifiers. First names only ("First name (optional)"), romanised or in Lao script;
# none is part of a place name or of another name, so a privacy scan can look for them.
_NAMES = (
    "Bounmy", "Souksavanh", "Khamla", "Phonsavanh", "Vilayvanh", "Chanthala", "Sengphet",
    "Latsamy", "Manivanh", "Somphone", "Thongdy", "Bouasone", "Sisouk", "Phoutthasone",
    "Ketsana", "Nouthong", "Vongdeuan", "Inpeng", "Saengdao", "Onnaly", "Kongkeo", "Somsack",
    "Bounthanh", "Khamphet", "Viengkham", "Outhai", "Soulivanh", "Phetsamone", "Malaythong",
    "Chansamone", "Thipphavanh", "Khonesavanh", "Souphaphone", "Bounleuth", "Sivilay",
    "Anousone", "Xaysana", "Daovone", "Amphone", "Khamsone", "Vatsana", "Phouvong", "Oudomphone",
    "Yeng", "Chue", "Neng", "Khamtanh", "Bounchanh", "Sommay", "Vanhsy",
    "ສົມພອນ", "ບຸນມີ", "ຄຳລາ", "ສຸກສະຫວັນ", "ມະນີວັນ", "ພອນສະຫວັນ", "ຈັນທະລາ", "ທອງດີ",
    "ບົວສອນ", "ສີສຸກ", "ລັດສະໝີ", "ວຽງຄຳ",
)  # fmt: skip
_VILLAGES = (
    "Ban Nongboua", "Ban Phonxay", "Ban Houaysai", "Ban Namdeng", "Ban Nakham", "Ban Donkeo",
    "Ban Phiengdi", "Ban Sopsim", "Ban Pakha", "Ban Thongmisay", "Ban Houaynam",
    "Ban Phonsavang", "Ban Nadi", "Ban Kiewkan", "Ban Houayhok", "Ban Namkeung",
    "Ban Phouvieng", "Ban Nongping", "Ban Donxay", "Ban Vangmon", "Ban Hatnyao", "Ban Xiengda",
    "Ban Phakeo", "Ban Sompoy", "Ban Houaykhoua", "Ban Natan", "Ban Chomthong",
    "ບ້ານນາດີ", "ບ້ານໂພນໄຊ", "ບ້ານດອນແກ້ວ", "ບ້ານນ້ຳແດງ",
)  # fmt: skip
_NOTES = (
    "Age checked against ID card",
    "Respondent was not sure of the district; province only",
    "Interview cut short when the bus left",
    "Enumerator confirmed answers by phone",
)
