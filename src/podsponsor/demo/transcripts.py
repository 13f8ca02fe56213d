"""Plain-text transcripts (`episode_transcripts`) of the recent episodes of the demo shows that publish them
(`catalogue.Show.transcripts`), made without a database from the seed and the workspace's rows.

A transcript is a conversation between the host and a guest about the episode's subjects, a few hundred words long,
in the genre's words and its audience's themes (`fit.GENRE_THEMES`), so topic matching finds in it what the show is
about. True crime talks about what true crime talks about (murder, violence, drugs, a weapon), which brand safety
should find; the other genres' words are clean.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Final

from podsponsor.demo.catalogue import Show
from podsponsor.demo.fit import GENRE_THEMES, catalogue_shows
from podsponsor.demo.generate import Row, TenantRows
from podsponsor.demo.shows import new_id, person
from podsponsor.demo.vocabulary import GENRES

RECENT_EPISODES: Final = 10
WORDS: Final = (280, 520)  # a transcript's length is drawn in this range, then its last sentence completed

OPENINGS: Final = (
    "Welcome back to {show}. I'm {host}, and today we are talking about {subject}.",
    "This is {show}, I'm {host}. My guest today is {guest}, and we are getting into {subject}.",
)
CLOSINGS: Final = (
    "That is all for this week. Thanks to {guest}, and thank you for listening to {show}.",
    "{guest}, thank you. Everyone else, we will be back next week with more on {subject2}.",
)
# Said by the host or the guest in any genre.
CONVERSATION: Final = (
    "So let's start with {subject}. What surprised you most when you looked into it?",
    "Honestly, the part about {subject} that nobody talks about is how long it takes.",
    "A lot of our listeners care about {theme}, and {subject} turns out to be part of that story.",
    "I want to come back to {subject2} in a minute, but first, {theme}.",
    "That is a really good point. I had not thought about {subject3} that way.",
    "If you only remember one thing from this episode, make it this: {subject} is not what it looks like.",
    "We got a lot of mail about {theme} after the last episode, so thank you for that.",
    "Let me push back a little, because {subject2} has another side.",
    "Right, and that is where {theme} comes in.",
    "You can find the notes for this episode on our website, including everything we said about {subject}.",
)
# Said only in that genre: its own world, and for true crime the words a careful brand avoids.
GENRE_SENTENCES: Final[dict[str, tuple[str, ...]]] = {
    "technology": (
        "The pager went off at three in the morning and the whole team was on the call by ten past.",
        "We rolled back the release, and the latency graphs went flat again within minutes.",
        "The database was fine. It was the cache in front of it that fell over.",
        "Every engineer I know has a story about {subject} and a deploy on a Friday afternoon.",
        "The tooling has gotten so much better; five years ago {subject} meant writing everything yourself.",
        "Start small, measure it, and only then automate it. That is the whole playbook.",
    ),
    "true_crime": (
        "The police report says the body was found near the {subject}, just after midnight.",
        "It was a murder the town never talked about, not out loud.",
        "Witnesses described the violence in that house for years before anyone called it in.",
        "Drugs were found in the glove box, and the detectives treated it as an overdose at first.",
        "The weapon was never recovered. Divers searched the lake twice.",
        "There was blood on the floor of the boathouse, and nobody could explain whose it was.",
        "The suspect was arrested, released, and then the case simply went cold.",
        "His sister still believes he was killed because of what he saw that night.",
    ),
    "science": (
        "The first samples came back and the data made no sense at all.",
        "We ran the experiment again, and then a third time, because nobody believed it.",
        "Peer review took eleven months, which is about average, sadly.",
        "What fascinates me about {subject} is how little we knew even ten years ago.",
        "The instruments are more sensitive now, so questions about {subject} can finally be answered.",
        "Every good result in science starts with someone saying: that is strange.",
    ),
}


def generate_transcripts(rows: TenantRows, seed: int) -> list[Row]:
    """The workspace's transcripts as `episode_transcripts` rows: the last `RECENT_EPISODES` episodes of each show
    that publishes transcripts."""
    rng = random.Random(f"{seed}:{rows.slug}:transcripts")  # noqa: S311 - reproducible on purpose
    shows = catalogue_shows(rows)
    by_show: dict[uuid.UUID, list[Row]] = {}
    for episode in rows.episodes:
        by_show.setdefault(episode["podcast_id"], []).append(episode)
    transcripts = []
    for podcast in rows.podcasts:
        show = shows[podcast["id"]]
        if not show.transcripts:
            continue
        recent = sorted(by_show.get(podcast["id"], []), key=lambda e: e["publish_date"])[-RECENT_EPISODES:]
        transcripts += [_transcript(rng, rows, show, episode) for episode in recent]
    return transcripts


def _transcript(rng: random.Random, rows: TenantRows, show: Show, episode: Row) -> Row:
    text = transcript_text(rng, show, episode)
    made = episode["publish_date"] + timedelta(hours=rng.randint(2, 30))
    return {
        "tenant_id": rows.id,
        "id": new_id(rng),
        "episode_id": episode["id"],
        "format": "text",
        "text": text,
        "words": len(text.split()),
        "created_at": made,
        "updated_at": made,
    }


def transcript_text(rng: random.Random, show: Show, episode: Row) -> str:
    """Host and guest taking turns, one to three sentences a turn, each turn a paragraph headed by its speaker."""
    genre = GENRES[show.genre]
    named = f"{episode['title']} {episode['description']}"
    subjects = [subject for subject in genre.subjects if subject in named]
    subjects += rng.sample([s for s in genre.subjects if s not in subjects], 3)
    guest = person(rng)
    themes = GENRE_THEMES.get(show.genre, ("the news",))
    sentences = CONVERSATION + GENRE_SENTENCES.get(show.genre, ())

    def fill(template: str) -> str:
        return template.format(
            show=show.title,
            host=show.host,
            guest=guest,
            subject=subjects[0],
            subject2=subjects[1],
            subject3=subjects[2],
            theme=rng.choice(themes),
        )

    turns = [(show.host, [fill(rng.choice(OPENINGS))])]
    target, words = rng.randint(*WORDS), 0
    while words < target:
        speaker = guest if turns[-1][0] == show.host else show.host
        said = [fill(rng.choice(sentences)) for _ in range(rng.randint(1, 3))]
        turns.append((speaker, said))
        words += sum(len(sentence.split()) for sentence in said)
    turns.append((show.host, [fill(rng.choice(CLOSINGS))]))
    return "\n\n".join(f"{speaker}: {' '.join(said)}" for speaker, said in turns)
