"""The words the demo draws from: genres of episode titles, deal wording and people's names. All fictional."""

from __future__ import annotations

from dataclasses import dataclass

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "nonbinary")
STAGE_PROBABILITY = {"lead": 0.1, "qualified": 0.25, "proposal": 0.5, "negotiation": 0.75, "won": 1.0, "lost": 0.0}
# Weekday-daily shows publish five times a week, so their mean gap is 7/5 days.
CADENCE_DAYS = {"daily": 1.4, "twice-weekly": 3.5, "weekly": 7.0, "biweekly": 14.0}


@dataclass(frozen=True)
class Genre:
    patterns: tuple[str, ...]
    subjects: tuple[str, ...]
    blurbs: tuple[str, ...]
    age: tuple[float, ...]  # weights over AGE_BANDS
    female: float


def _genre(patterns: str, subjects: str, blurbs: str, age: tuple[float, ...], female: float) -> Genre:
    """Word lists are written as " | "-separated text so that they stay readable as tables."""

    def split(text: str) -> tuple[str, ...]:
        return tuple(" ".join(part.split()) for part in text.split("|"))

    return Genre(split(patterns), split(subjects), split(blurbs), age, female)


GENRES: dict[str, Genre] = {
    "business": _genre(
        """
        How {guest} Built a Company Around {subject} | {subject}: What the Numbers Say |
        The Hidden Cost of {subject} | Listener Questions: {subject} | {guest} on {subject}
        """,
        """
        Subscription Pricing | Remote Teams | Supply Chains | Founder Burnout | Cash Flow | Franchise Deals |
        Family Businesses | Small-Business Loans | Pricing Power | Customer Churn | the Four-Day Week |
        Index Funds | Mortgage Rates | Side Hustles | Retirement Accounts | Negotiating a Raise
        """,
        """
        {guest} joins {host} to unpack {subject} and what it means for your next quarter. |
        A practical look at {subject}: the mistakes, the spreadsheets and the one question to ask first. |
        {host} answers listener questions about {subject}, with help from {guest}.
        """,
        (0.08, 0.3, 0.28, 0.18, 0.11, 0.05),
        0.42,
    ),
    "technology": _genre(
        """
        {subject}, Explained | Shipping {subject} Without Breaking Production | {guest} on {subject} |
        Is {subject} Worth the Hype? | Postmortem: {subject}
        """,
        """
        Passkeys | Edge Databases | On-Device AI | Rust in Production | Open-Source Licensing |
        Kubernetes Costs | Right to Repair | Satellite Internet | Browser Privacy | Foldable Phones |
        Platform Engineering | Code Review Culture | Quantum-Safe Encryption | Feature Flags |
        Smart Home Standards
        """,
        """
        {host} and {guest} dig into {subject}: what works today and what is still a demo. |
        This week: {subject}. {guest} walks through the trade-offs, the tooling and the war stories. |
        Everything you wanted to know about {subject} but were afraid to ask in stand-up.
        """,
        (0.14, 0.36, 0.26, 0.14, 0.07, 0.03),
        0.24,
    ),
    "true_crime": _genre(
        "The {subject} | Part {part}: The {subject} | What the {subject} Revealed | Return to the {subject}",
        """
        Lighthouse Keeper | Missing Ledger | Night Ferry | Orchard Fire | Second Witness | Locked Boathouse |
        Unsigned Letter | Quarry Road | Last Phone Call | Frozen Lake | Empty Motel | Pawnshop Receipt
        """,
        """
        {host} reopens the case of the {subject} with new interviews and court records. |
        Decades later, the {subject} still raises questions. {guest} shares what the police file left out. |
        A small town, a long winter and the {subject}. Listener discretion advised.
        """,
        (0.15, 0.33, 0.25, 0.15, 0.09, 0.03),
        0.68,
    ),
    "news": _genre(
        "{date}: {subject}, {subject2} and {subject3} | {date}: {subject} and More",
        """
        Rate-Cut Odds | A Port Strike | Heat Records | Election Recounts | Housing Starts | Wildfire Season |
        Chip Export Rules | Transit Funding | A Measles Outbreak | Jobs Report | Tariff Talks |
        Drought Relief | A Merger Review | School Budgets | Storm Damage | Drug Pricing | Satellite Launch |
        Union Vote
        """,
        """
        Your morning briefing: {subject}, plus the stories to watch today. |
        {host} covers {subject} in under twenty minutes, with reporting from {guest}.
        """,
        (0.05, 0.18, 0.22, 0.22, 0.19, 0.14),
        0.46,
    ),
    "sports": _genre(
        """
        {subject}: Winners and Losers | Overreactions: {subject} | {guest} Joins to Talk {subject} |
        Mailbag: {subject}
        """,
        """
        the Trade Deadline | Playoff Seeding | the Draft Lottery | Rookie of the Year | the Salary Cap |
        Fantasy Waivers | Coaching Carousel | Opening Day | the All-Star Snubs | Free Agency |
        Power Rankings
        """,
        """
        {host} and {guest} argue about {subject} so you do not have to. |
        Hot takes, cold takes and {subject}. Plus your questions from the mailbag.
        """,
        (0.16, 0.34, 0.24, 0.14, 0.09, 0.03),
        0.22,
    ),
    "comedy": _genre(
        """
        {guest} Has Thoughts About {subject} | We Tried {subject} | {subject} (with {guest}) |
        Worst Ideas: {subject}
        """,
        """
        Gym Memberships | Group Chats | Airport Lounges | Escape Rooms | Self-Checkout | Wedding Toasts |
        Smart Fridges | Haunted Airbnbs | Jury Duty | Karaoke | Minivans | Reply-All Emails | Sourdough
        """,
        """
        {guest} stops by to talk about {subject}, and it goes about as well as you would expect. |
        {host} and friends rank {subject}. Nobody agrees. Explicit language.
        """,
        (0.24, 0.38, 0.2, 0.1, 0.06, 0.02),
        0.44,
    ),
    "health": _genre(
        """
        The Truth About {subject} | {subject} for Beginners | {guest} on {subject} |
        Five Myths About {subject}
        """,
        """
        Zone 2 Training | Sleep Debt | Protein Timing | Cold Plunges | Marathon Taper | Gut Health |
        Strength After Forty | Breathwork | Mobility Work | Creatine | Running Injuries | Screen Time
        """,
        """
        Coach {host} breaks down {subject} with {guest}, no miracle cures included. |
        What the research says about {subject}, and how to try it this week.
        """,
        (0.12, 0.31, 0.27, 0.16, 0.1, 0.04),
        0.58,
    ),
    "science": _genre(
        """
        Why {subject} Matters | {guest} and the Story of {subject} | The Physics of {subject} |
        Field Notes: {subject}
        """,
        """
        Deep-Sea Vents | Dark Matter | Bird Migration | Coral Spawning | CRISPR Crops | Volcanic Winters |
        Exoplanet Weather | Tardigrades | Mushroom Networks | Gravitational Waves | Ice Cores |
        Octopus Minds
        """,
        """
        {guest} takes {host} inside the lab to explain {subject}. |
        A question about {subject} leads somewhere nobody expected.
        """,
        (0.12, 0.3, 0.26, 0.16, 0.11, 0.05),
        0.45,
    ),
    "film": _genre(
        "Review: {subject} | The Best {subject} Ever Made | Rewatch: {subject} | {guest} Ranks {subject}",
        """
        Heist Movies | Space Operas | Courtroom Dramas | Animated Sequels | Awards-Season Contenders |
        Streaming Miniseries | Summer Blockbusters | Cult Horror | Sitcom Finales | Festival Favorites
        """,
        """
        {host} and {guest} debate {subject}. Spoilers from the twenty-minute mark. |
        Two critics, one couch and {subject}.
        """,
        (0.2, 0.36, 0.22, 0.12, 0.07, 0.03),
        0.4,
    ),
    "books": _genre(
        "{guest} on {subject} | Reading Together: {subject} | Why We Still Read {subject}",
        """
        Debut Novels | Translated Fiction | Literary Thrillers | Graphic Memoirs | Climate Fiction |
        Short-Story Collections | Poetry Prizes | Historical Romance | Essay Collections
        """,
        """
        Author {guest} talks craft, drafts and {subject} with {host}. |
        This month's pick: {subject}. {host} shares notes from the margins.
        """,
        (0.09, 0.22, 0.24, 0.2, 0.15, 0.1),
        0.71,
    ),
    "kids": _genre(
        "The {subject} | {subject} and the Big Surprise | Bedtime Story: The {subject}",
        """
        Brave Little Tugboat | Moon That Hiccupped | Sleepy Dragon | Lost Library Card | Singing Snowman |
        Backwards Birthday | Polite Pirate | Kite That Flew Home | Shy Giraffe | Rainy-Day Robot
        """,
        """
        A gentle story about the {subject}, for listeners aged four to eight. |
        {host} reads the tale of the {subject}, with sound effects by {guest}.
        """,
        (0.04, 0.3, 0.42, 0.15, 0.06, 0.03),
        0.66,
    ),
    "history": _genre(
        "The {subject} | {subject}: Part {part} | Who Really Won the {subject}?",
        """
        Great Molasses Flood | Klondike Gold Rush | Radio Wars | Transatlantic Cable | Tulip Bubble |
        Lost Colony | Dust Bowl | Apollo Fire | Silk Road Caravans | Great Stink | Halifax Explosion
        """,
        """
        {host} tells the story of the {subject}, with historian {guest}. |
        Sources, letters and newspapers bring the {subject} back to life.
        """,
        (0.06, 0.22, 0.24, 0.21, 0.17, 0.1),
        0.33,
    ),
    "society": _genre(
        """
        {subject}: A Conversation with {guest} | Why Everyone Is Talking About {subject} |
        {guest} on {subject} | Dispatches: {subject}
        """,
        """
        Loneliness | Third Places | Small-Town Newspapers | Multigenerational Homes | Public Libraries |
        Dating Apps | Volunteer Fire Crews | Community Gardens | Night Shifts | Tiny Houses | Trail Towns
        """,
        """
        {host} sits down with {guest} to talk about {subject} and the people behind it. |
        Stories from everyday life: this week, {subject}.
        """,
        (0.11, 0.29, 0.26, 0.17, 0.11, 0.06),
        0.57,
    ),
    "education": _genre(
        "Learn {subject} in Twenty Minutes | {subject}: A Beginner's Map | {guest} Teaches {subject}",
        """
        Spreadsheet Formulas | Public Speaking | Negotiation | Data Literacy | Conversational Spanish |
        Personal Finance | Writing Clearly | Memory Techniques | Project Planning | Statistics
        """,
        """
        {guest} teaches {host} the basics of {subject}, with homework for the week. |
        A short, practical lesson on {subject}.
        """,
        (0.18, 0.33, 0.24, 0.13, 0.08, 0.04),
        0.52,
    ),
    "outdoors": _genre(
        "Trail Report: {subject} | {guest} and the {subject} | Packing for {subject}",
        """
        Bruce Peninsula | Winter Camping | Canoe Portages | Algonquin in October | Ice Fishing |
        Rocky Mountain Passes | Coastal Kayaking | Bear Safety | Ultralight Gear | Northern Lights
        """,
        """
        {host} heads outside with {guest}: this time, {subject}. |
        Field-tested advice on {subject}, recorded by a campfire.
        """,
        (0.1, 0.3, 0.28, 0.17, 0.1, 0.05),
        0.49,
    ),
    "society_es": _genre(
        "{subject}: una charla con {guest} | Hablemos de {subject} | {guest} y {subject}",
        """
        la vivienda | la migración | el fútbol de barrio | la comida callejera | las abuelas |
        el trabajo remoto | la música regional | la salud mental | el español en casa
        """,
        "{host} conversa con {guest} sobre {subject}. | Historias de nuestra comunidad: {subject}.",
        (0.14, 0.34, 0.26, 0.14, 0.08, 0.04),
        0.55,
    ),
    "society_fr": _genre(
        "{subject}, avec {guest} | Parlons de {subject} | {guest} et {subject}",
        """
        la cabane à sucre | le télétravail | les régions | la langue | les festivals d'été |
        le hockey mineur | les marchés publics | l'hiver
        """,
        "{host} discute de {subject} avec {guest}. | Des histoires d'ici : {subject}.",
        (0.09, 0.26, 0.27, 0.19, 0.13, 0.06),
        0.53,
    ),
}

CAMPAIGN_PACKAGES = (
    "host-read package",
    "launch flight",
    "brand awareness",
    "promo code test",
    "run-of-network",
    "sponsorship renewal",
    "holiday push",
    "baked-in evergreen",
    "true crime bundle",
    "new-show sponsorship",
)

DEAL_NOTES = (
    "",
    "",
    "Wants host-read only, no produced spots.",
    "Asked for a category exclusive.",
    "Agency: Brightline Media. Net 60 terms.",
    "Pilot before a larger Q2 commitment.",
    "Needs audience survey data before signing.",
    "Prefers mid-roll positions.",
)

FIRST_NAMES = (
    "Avery",
    "Blake",
    "Carmen",
    "Diego",
    "Elena",
    "Farah",
    "Gabriel",
    "Hana",
    "Isaac",
    "Jonah",
    "Keiko",
    "Leila",
    "Mateo",
    "Nora",
    "Omar",
    "Paige",
    "Quinn",
    "Rosa",
    "Silas",
    "Tamsin",
    "Umar",
    "Vera",
    "Wes",
    "Yara",
    "Zoe",
)
LAST_NAMES = (
    "Abbott",
    "Bergstrom",
    "Chen",
    "Delacroix",
    "Esposito",
    "Fitzgerald",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jimenez",
    "Kowalski",
    "Lindqvist",
    "MacLeod",
    "Nakamura",
    "Osei",
    "Patel",
    "Quintero",
    "Romero",
    "Sullivan",
    "Thibault",
    "Underwood",
    "Vasquez",
    "Whitaker",
    "Yilmaz",
    "Zimmerman",
)
