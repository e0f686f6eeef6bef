"""Word lists the generator draws generated customers and their sales from.

Fixed, like the catalog: a seed picks from them, so changing a list changes every demo
database made from it (and the loader's determinism tests say so).
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST = _words(
    "Emma Liam Olivia Noah Ava Elijah Sophia Lucas Mia Mateo Amelia Levi Harper Ethan Aria "
    "Mason Chloé Logan Zoë Oliver Nora Kai Léa Hugo Ingrid Søren Aisha Omar Fatima Yusuf "
    "Mei Wei Hana Kenji Priya Arjun Ana José Lucía Diego Camila Tomás Ines Rafael Eva Jakub "
    "Zofia Piotr Freya Erik Astrid Nils Chiara Marco Giulia Luca Sofía Pablo Amara Kwame "
    "Ngozi Tariq Leila Ravi Ananya Dmitri Katya Bjørn Saoirse Niamh Ciarán Malia Keanu"
)
_LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martínez Hernández "
    "López Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Pérez Thompson "
    "White Harris Sánchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Kowalski "
    "Nowak Novák Dvořák Rossi Russo Ferrari Esposito Bianchi Dubois Lefèvre Moreau O'Brien "
    "Murphy Kelly Tanaka Suzuki Kim Park Chen Wang Singh Patel Okafor Mensah Haddad Cohen"
)
_COMPANIES = (
    "Acme Catering",
    "Blue River Events",
    "Northwind Traders",
    "Granite & Oak LLP",
    "Sunrise Dental",
    "Keystone Builders",
    "Lighthouse Media",
    "Evergreen Realty",
)
_STREETS = ("Main St", "Oak Ave", "Harbor Rd", "Elm St", "Lake Dr", "Hill Rd", "Park Ave")
_CITIES = (
    ("Springfield", "IL", "62701"),
    ("Portland", "OR", "97205"),
    ("Austin", "TX", "78701"),
    ("Madison", "WI", "53703"),
    ("Burlington", "VT", "05401"),
    ("Boulder", "CO", "80302"),
)
_AREA_CODES = ("212", "312", "415", "617", "206", "303", "512", "702")
_TAGS = (
    (),
    (),
    (),
    ("regular",),
    ("season-ticket",),
    ("wine-club",),
    ("allergy:nuts",),
    ("regular", "birthday-club"),
)
_COMMENTS = (
    "Prefers the window table.",
    "Allergic to shellfish.",
    "Season ticket holder since 2019.",
    "Ask about the loyalty upgrade.",
)
_MENU = (
    ("Hot dog", 650),
    ("Draft beer", 900),
    ("Soft drink", 450),
    ("Pretzel", 550),
    ("Nachos", 800),
    ("Program", 1000),
    ("Team scarf", 2500),
    ("Burger and fries", 1450),
    ("Glass of wine", 1100),
    ("Coffee", 400),
    ("Cheesecake", 750),
    ("Spa day pass", 6500),
)
