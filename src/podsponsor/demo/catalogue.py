"""The demo's catalogue: its two workspaces, their shows and the brands that sponsor them. All fictional."""

from __future__ import annotations

from dataclasses import dataclass

MEDIA_HOST = "media.hostwave.example"
IMAGE_HOST = "images.hostwave.example"


@dataclass(frozen=True)
class Show:
    title: str
    slug: str
    genre: str
    categories: tuple[str, ...]
    cadence: str
    minutes: tuple[int, int]
    language: str
    host: str
    about: str
    explicit: bool = False
    prefix: str = ""  # e.g. "Ep. {n}: ", put before numbered episode titles
    season_length: int = 0  # serial shows: episodes per season
    numbered: bool = True
    transcripts: bool = False


@dataclass(frozen=True)
class Workspace:
    name: str
    slug: str
    kind: str
    website: str
    currency: str
    countries: tuple[tuple[str, float], ...]  # audience country weights before per-show noise
    geo_targets: tuple[tuple[str, ...], ...]  # what its sponsors target, drawn with repeats for weight
    local_brands: tuple[str, ...]  # brand site names this workspace always sells to
    sponsors: tuple[int, int]
    campaigns: tuple[int, int]
    deal_dollars: tuple[int, int]
    shows: tuple[Show, ...]


NORTHWIND_SHOWS = (
    Show(
        "The Quarterly Close",
        "quarterly-close",
        "business",
        ("Business",),
        "weekly",
        (35, 55),
        "en-US",
        "Dana Whitfield",
        "Candid conversations about running and growing a business.",
        prefix="Ep. {n}: ",
    ),
    Show(
        "Build Log",
        "build-log",
        "technology",
        ("Technology",),
        "weekly",
        (40, 75),
        "en-US",
        "Priya Raman",
        "Engineers on the systems they build and the outages they survive.",
        prefix="#{n} ",
        transcripts=True,
    ),
    Show(
        "Cold Harbor",
        "cold-harbor",
        "true_crime",
        ("True Crime",),
        "weekly",
        (45, 70),
        "en-US",
        "Mara Ellison",
        "An investigative series about unsolved cases on the North Atlantic coast.",
        explicit=True,
        season_length=10,
        transcripts=True,
    ),
    Show(
        "Northwind Morning Brief",
        "morning-brief",
        "news",
        ("News",),
        "daily",
        (15, 22),
        "en-US",
        "Theo Marsh",
        "The day's news in twenty minutes, every weekday morning.",
        numbered=False,
    ),
    Show(
        "Overtime Talk",
        "overtime-talk",
        "sports",
        ("Sports",),
        "twice-weekly",
        (50, 90),
        "en-US",
        "Marcus Bell",
        "Two former players and a lot of opinions.",
    ),
    Show(
        "Laugh Track Sessions",
        "laugh-track",
        "comedy",
        ("Comedy",),
        "weekly",
        (60, 110),
        "en-US",
        "Jess Navarro",
        "Comedians talk about everything except comedy.",
        explicit=True,
    ),
    Show(
        "Steady State",
        "steady-state",
        "health",
        ("Health & Fitness",),
        "weekly",
        (30, 50),
        "en-US",
        "Coach Ren Alvarez",
        "Evidence-based fitness without the shouting.",
    ),
    Show(
        "Small Print Money",
        "small-print-money",
        "business",
        ("Business", "Education"),
        "biweekly",
        (25, 40),
        "en-US",
        "Ruth Okafor",
        "Personal finance, read closely.",
        prefix="Ep. {n}: ",
    ),
    Show(
        "The Lab Bench",
        "lab-bench",
        "science",
        ("Science",),
        "biweekly",
        (35, 60),
        "en-US",
        "Dr. Ian Castell",
        "Scientists explain the experiment that changed their minds.",
        season_length=12,
        transcripts=True,
    ),
    Show(
        "Second Reel",
        "second-reel",
        "film",
        ("TV & Film",),
        "weekly",
        (55, 95),
        "en-US",
        "Nadia Brooks",
        "Film and TV reviews from two critics who rarely agree.",
        explicit=True,
    ),
    Show(
        "Margin Notes",
        "margin-notes",
        "books",
        ("Arts",),
        "biweekly",
        (40, 60),
        "en-US",
        "Helen Sato",
        "A book show for people who write in the margins.",
        numbered=False,
    ),
    Show(
        "Story Hour Junction",
        "story-hour",
        "kids",
        ("Kids & Family",),
        "weekly",
        (15, 25),
        "en-US",
        "Aunt Lottie",
        "Gentle stories for small listeners.",
    ),
    Show(
        "Past Imperfect",
        "past-imperfect",
        "history",
        ("History", "Education"),
        "biweekly",
        (50, 80),
        "en-GB",
        "Oliver Grant",
        "Forgotten chapters of history, told properly.",
        season_length=8,
    ),
    Show(
        "Civic Hour",
        "civic-hour",
        "society",
        ("Society & Culture", "News"),
        "weekly",
        (40, 60),
        "en-US",
        "Ama Mensah",
        "How communities work, and how they fix what is broken.",
    ),
    Show(
        "Mesa Abierta",
        "mesa-abierta",
        "society_es",
        ("Society & Culture",),
        "weekly",
        (35, 55),
        "es-MX",
        "Lucía Herrera",
        "Conversaciones de sobremesa sobre la vida en comunidad.",
        prefix="Ep. {n}: ",
    ),
    Show(
        "Skill Up Sessions",
        "skill-up",
        "education",
        ("Education", "Business"),
        "weekly",
        (20, 35),
        "en-US",
        "Grace Liu",
        "A new skill every week, in under forty minutes.",
    ),
)

MAPLE_PINE_SHOWS = (
    Show(
        "Trailhead Stories",
        "trailhead-stories",
        "outdoors",
        ("Leisure", "Health & Fitness"),
        "weekly",
        (30, 50),
        "en-CA",
        "Sam Tremblay",
        "Hikes, paddles and campfire conversations from across Canada.",
    ),
    Show(
        "Kitchen Table Money",
        "kitchen-table-money",
        "business",
        ("Business",),
        "biweekly",
        (25, 45),
        "en-CA",
        "Jordan Clarke",
        "Money talk for Canadian households, one kitchen table at a time.",
    ),
    Show(
        "Small Town Sleuths",
        "small-town-sleuths",
        "true_crime",
        ("True Crime", "Comedy"),
        "biweekly",
        (45, 75),
        "en-CA",
        "Sam Tremblay",
        "Two friends, one mystery per episode, too much coffee.",
        explicit=True,
    ),
    Show(
        "Entre deux érables",
        "entre-deux-erables",
        "society_fr",
        ("Society & Culture",),
        "biweekly",
        (30, 50),
        "fr-CA",
        "Élise Gagnon",
        "Rencontres et récits du Québec, entre deux érables.",
        prefix="Épisode {n} : ",
    ),
)

WORKSPACES = (
    Workspace(
        "Northwind Audio",
        "northwind",
        "network",
        "northwindaudio.example",
        "USD",
        (("US", 60), ("CA", 9), ("GB", 8), ("AU", 5), ("IE", 2), ("NZ", 2), ("DE", 2), ("IN", 2), ("MX", 2)),
        (("US",), ("US",), ("US",), ("US", "CA"), ("US", "GB"), ("US", "CA", "GB", "AU")),
        ("ledgerly", "tunnelfox", "drowsyowl"),
        (46, 50),
        (36, 44),
        (5_000, 250_000),
        NORTHWIND_SHOWS,
    ),
    Workspace(
        "Maple & Pine Podcasts",
        "maple-pine",
        "creator",
        "mapleandpine.example",
        "CAD",
        (("CA", 62), ("US", 22), ("GB", 5), ("FR", 3), ("AU", 3), ("DE", 1)),
        (("CA",), ("CA",), ("CA", "US")),
        ("portageoutfitters", "maplecrest", "looniesaver", "borealtrail", "sugarshack", "snowlinetea"),
        (11, 13),
        (10, 14),
        (1_000, 30_000),
        MAPLE_PINE_SHOWS,
    ),
)

# Spanish and French shows draw their audience from where those languages are spoken.
LANGUAGE_COUNTRIES = {
    "es": (("MX", 45), ("US", 30), ("ES", 8), ("CO", 7), ("AR", 5), ("CL", 3)),
    "fr": (("CA", 70), ("FR", 18), ("BE", 5), ("CH", 4), ("US", 3)),
}

# Each brand: (name, industry, site name). Industries are the competitive-separation groups.
BRANDS = (
    ("Harbor & Hearth", "consumer goods", "harborhearth"),
    ("Fernway Socks", "apparel", "fernway"),
    ("Bristlecone Oral Care", "consumer goods", "bristlecone-care"),
    ("Tidewell Razors", "consumer goods", "tidewell"),
    ("Larkspur Candle Co.", "consumer goods", "larkspurcandle"),
    ("Kettle & Crumb Coffee", "beverages", "kettlecrumb"),
    ("Ledgerly", "software", "ledgerly"),
    ("Stackwise", "software", "stackwise"),
    ("Brightdesk", "software", "brightdesk"),
    ("Quillpad Notes", "software", "quillpad"),
    ("Orbitask", "software", "orbitask"),
    ("Nimbleform", "software", "nimbleform"),
    ("Pagecrafter Sites", "web hosting", "pagecrafter"),
    ("Tallyho Payroll", "software", "tallyhopay"),
    ("Penny Harbor Invest", "finance", "pennyharbor"),
    ("Evergreen Ledger Credit Union", "finance", "evergreenledger"),
    ("Copperkite Card", "finance", "copperkite"),
    ("Birchline Insurance", "insurance", "birchline"),
    ("Sprig & Supper", "meal kits", "sprigsupper"),
    ("Hearthbox Meals", "meal kits", "hearthbox"),
    ("Greenfork Kitchen", "meal kits", "greenfork"),
    ("Drowsy Owl Mattress", "mattresses", "drowsyowl"),
    ("Cloudbank Sleep", "mattresses", "cloudbanksleep"),
    ("Slumberloft", "mattresses", "slumberloft"),
    ("Tunnelfox VPN", "vpn", "tunnelfox"),
    ("Veilgate", "vpn", "veilgate"),
    ("Shieldway Privacy", "vpn", "shieldway"),
    ("Lingolark", "education", "lingolark"),
    ("Skillforge Academy", "education", "skillforge"),
    ("Brainyard", "education", "brainyard"),
    ("Vitalroot Supplements", "health", "vitalroot"),
    ("Pulsewise", "health", "pulsewise"),
    ("Calmcove", "health", "calmcove"),
    ("Clearleaf Telehealth", "health", "clearleaf"),
    ("Roadhaven Auto Insurance", "insurance", "roadhaven"),
    ("Torque & Tread Tires", "auto", "torquetread"),
    ("Voltline EV", "auto", "voltline"),
    ("Wanderwell Luggage", "travel", "wanderwell"),
    ("Farpoint Stays", "travel", "farpointstays"),
    ("Skylark Fares", "travel", "skylarkfares"),
    ("Pixelhearth Games", "gaming", "pixelhearth"),
    ("Questforge Studios", "gaming", "questforge"),
    ("Glimmerdeck", "gaming", "glimmerdeck"),
    ("Pawpath Pet Food", "pets", "pawpath"),
    ("Whiskerwell Litter", "pets", "whiskerwell"),
    ("Thistle & Thread", "apparel", "thistlethread"),
    ("Northbound Outerwear", "apparel", "northbound-outer"),
    ("Fizzwick Sparkling", "beverages", "fizzwick"),
    ("Oatfield Barista", "beverages", "oatfield"),
    ("Hirewell Jobs", "recruiting", "hirewell"),
    ("Talentbridge", "recruiting", "talentbridge"),
    ("Homeward Security", "home", "homewardsecurity"),
    ("Greenthumb Seeds", "home", "greenthumbseeds"),
    ("Lumen & Loom Lighting", "home", "lumenloom"),
    ("Streamnest", "streaming", "streamnest"),
    ("Auralink Earbuds", "electronics", "auralink"),
    ("Chargepoint Cubes", "electronics", "chargecubes"),
    ("Maplecrest Bank", "finance", "maplecrest"),
    ("Portage Outfitters", "outdoor gear", "portageoutfitters"),
    ("Loonie Saver", "finance", "looniesaver"),
    ("Boreal Trail Co.", "outdoor gear", "borealtrail"),
    ("Sugarshack Syrup", "food", "sugarshack"),
    ("Snowline Tea", "beverages", "snowlinetea"),
)

# What each industry wants to be near (topic overlap) and how much risk it accepts (brand safety weights).
INDUSTRIES: dict[str, tuple[tuple[str, ...], tuple[int, int, int]]] = {
    "consumer goods": (("Society & Culture", "Comedy", "lifestyle", "home"), (2, 5, 3)),
    "apparel": (("Comedy", "Sports", "Leisure", "style"), (1, 5, 4)),
    "beverages": (("Comedy", "Sports", "TV & Film", "food"), (1, 4, 5)),
    "software": (("Technology", "Business", "productivity", "startups"), (2, 6, 2)),
    "web hosting": (("Technology", "Business", "small business", "creators"), (1, 5, 4)),
    "finance": (("Business", "News", "investing", "personal finance"), (6, 3, 1)),
    "insurance": (("News", "Business", "family", "home"), (6, 3, 1)),
    "meal kits": (("Health & Fitness", "Comedy", "cooking", "family"), (2, 5, 3)),
    "mattresses": (("Health & Fitness", "True Crime", "Comedy", "sleep"), (1, 4, 5)),
    "vpn": (("Technology", "True Crime", "privacy", "security"), (1, 3, 6)),
    "education": (("Education", "Science", "History", "careers"), (6, 3, 1)),
    "health": (("Health & Fitness", "Science", "wellness", "sleep"), (4, 4, 2)),
    "auto": (("Sports", "News", "Technology", "commuting"), (3, 5, 2)),
    "travel": (("Leisure", "Society & Culture", "History", "adventure"), (2, 5, 3)),
    "gaming": (("Technology", "Comedy", "TV & Film", "esports"), (1, 3, 6)),
    "pets": (("Kids & Family", "Comedy", "Society & Culture", "pets"), (3, 5, 2)),
    "recruiting": (("Business", "Technology", "careers", "hiring"), (4, 5, 1)),
    "home": (("Society & Culture", "Kids & Family", "home", "DIY"), (4, 4, 2)),
    "streaming": (("TV & Film", "Comedy", "Arts", "entertainment"), (1, 3, 6)),
    "electronics": (("Technology", "Sports", "gadgets", "music"), (2, 5, 3)),
    "outdoor gear": (("Leisure", "Health & Fitness", "camping", "hiking"), (2, 5, 3)),
    "food": (("Leisure", "Kids & Family", "cooking", "local"), (4, 5, 1)),
}
