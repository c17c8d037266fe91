"""The texts of the demo site: its articles (every version of each) and the words of its chrome.

The statements are modelled on a real embassy page (a foreign-ministry briefing republished
by the Embassy of the Russian Federation in India); the first one keeps that page's text,
the others paraphrase its topics or are notices written for this fixture. Figures, dates and
procedures in the notices are invented: this is a local test site, not an official source.

Everything the site serves comes from this module and the templates next to it; nothing is
read from outside the package at run time.

Why one module of this size: it is data (the demo's texts, every version of each
article), not logic; one file keeps the story of the demo readable in order.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field, replace
from typing import Literal

logger = logging.getLogger(__name__)

Language = Literal["en", "ru"]


@dataclass(frozen=True)
class Text:
    """One version of an article's visible text: title, optional lead line and paragraphs."""

    title: str
    paragraphs: tuple[str, ...]
    lead: str = ""

    def teaser(self, limit: int = 180) -> str:
        """The start of the first paragraph, cut at a word boundary, for listing pages."""
        first = self.paragraphs[0]
        if len(first) <= limit:
            return first
        return first[:limit].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class Article:
    """A news item of the site: where it lives, how its bytes are encoded, and its versions.

    ``encoding`` is the charset of the body; ``charset_in_header`` says whether the
    ``Content-Type`` header names it and ``meta_charset`` whether the document declares it
    in a ``<meta>`` tag. ``versions`` maps a version name ("v1" is the original) to its text.
    """

    name: str
    path: str
    language: Language
    date: datetime.date
    versions: dict[str, Text]
    encoding: str = "utf-8"
    charset_in_header: bool = True
    meta_charset: bool = True
    section: str = "News"

    def text(self, version: str = "v1") -> Text:
        """The text of one version of this article."""
        return self.versions[version]


@dataclass(frozen=True)
class Chrome:
    """The words of the site's header, menus, sidebar and footer in one language."""

    site_name: str
    working_hours_label: str
    visitors_label: str
    home: str
    news: str
    menu: tuple[tuple[str, str], ...]
    related_news: str
    search: str
    search_placeholder: str
    address: str
    phone: str
    copyright: str
    disclaimer: str
    not_found_title: str
    not_found_text: str
    latest_news: str
    in_other_language: str
    pages_label: str
    next_page: str
    previous_page: str
    print_label: str
    share_label: str
    months: tuple[str, ...] = field(repr=False, default=())

    def date_line(self, date: datetime.date) -> str:
        """A date written as the site writes it above a title, e.g. "15 december / 2022"."""
        return f"{date.day} {self.months[date.month - 1]} / {date.year}"


def edited(
    text: Text, *, title: str | None = None, replacements: tuple[tuple[str, str], ...] = ()
) -> Text:
    """A new version of ``text``: a new title and/or exact phrase replacements.

    Each phrase must occur exactly once, so that an edit in the data is always a real,
    located edit of the page (a typo in the data fails loudly at import).
    """
    paragraphs = list(text.paragraphs)
    for old, new in replacements:
        hits = [index for index, paragraph in enumerate(paragraphs) if old in paragraph]
        if len(hits) != 1 or paragraphs[hits[0]].count(old) != 1:
            raise ValueError(f"phrase to edit must occur exactly once: {old!r}")
        paragraphs[hits[0]] = paragraphs[hits[0]].replace(old, new)
    return replace(
        text, title=title if title is not None else text.title, paragraphs=tuple(paragraphs)
    )


CHROME: dict[Language, Chrome] = {
    "en": Chrome(
        site_name="The Embassy of the Russian Federation in the Republic of India",
        working_hours_label="Today's working hours",
        visitors_label="Visitors today",
        home="Home",
        news="News",
        menu=(
            ("Home", "/"),
            ("Embassy", "/en/embassy/"),
            ("Ambassador", "/en/ambassador/"),
            ("News", "/en/news/"),
            ("Consular issues", "/en/consular/"),
            ("Visas", "/en/visas/"),
            ("Bilateral relations", "/en/relations/"),
            ("Contacts", "/en/contacts/"),
        ),
        related_news="Related news",
        search="Search",
        search_placeholder="Search the site",
        address="Shantipath, Chanakyapuri, New Delhi – 110021",
        phone="Duty officer: see the Contacts page",
        copyright="© 2004–2022 Embassy of the Russian Federation in the Republic of India",
        disclaimer=(
            "Local demonstration copy served by the monitor test suite; not an official website."
        ),
        not_found_title="Page not found",
        not_found_text=(
            "The page you requested does not exist or has been moved. Please go to the home page "
            "or use the search."
        ),
        latest_news="Latest news",
        in_other_language="In Russian",
        pages_label="Pages",
        next_page="Next »",
        previous_page="« Previous",
        print_label="Print version",
        share_label="Share",
        months=(
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
    ),
    "ru": Chrome(
        site_name="Посольство Российской Федерации в Республике Индия",
        working_hours_label="Режим работы сегодня",
        visitors_label="Посетителей сегодня",
        home="Главная",
        news="Новости",
        menu=(
            ("Главная", "/"),
            ("Посольство", "/ru/embassy/"),
            ("Посол", "/ru/ambassador/"),
            ("Новости", "/en/news/"),
            ("Консульские вопросы", "/ru/consular/"),
            ("Визы", "/ru/visas/"),
            ("Двусторонние отношения", "/ru/relations/"),
            ("Контакты", "/ru/contacts/"),
        ),
        related_news="Другие новости",
        search="Поиск",
        search_placeholder="Поиск по сайту",
        address="Шантипатх, Чанакьяпури, Нью-Дели – 110021",
        phone="Дежурный сотрудник: см. раздел «Контакты»",
        copyright="© 2004–2022 Посольство Российской Федерации в Республике Индия",
        disclaimer="Локальная демонстрационная копия для тестов монитора; не официальный сайт.",
        not_found_title="Страница не найдена",
        not_found_text="Запрошенная страница не существует или была перемещена.",
        latest_news="Последние новости",
        in_other_language="In English",
        pages_label="Страницы",
        next_page="Далее »",
        previous_page="« Назад",
        print_label="Версия для печати",
        share_label="Поделиться",
        months=(
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ),
    ),
}


# --- English articles ------------------------------------------------------------------

_SECURITY = Text(
    title="On security guarantees",
    lead=(
        "(from the briefing by Russian Foreign Ministry Spokeswoman Maria Zakharova, "
        "December 15, 2022)"
    ),
    paragraphs=(
        "In connection with the anniversary (December 15, 2021) of the transfer to the American "
        "side of the draft treaty between the Russian Federation and the United States on "
        "security guarantees and a draft agreement on measures to ensure the security of the "
        "Russian Federation and the member states of the North Atlantic Treaty Organisation, I "
        "would like to remind you of some facts.",
        "Last December, Russia put forward a proposal to conclude legally binding agreements with "
        "the United States and NATO on security guarantees for our country. It included the "
        "following key elements: no further NATO expansion, non-deployment of offensive weapons "
        "near Russia’s borders, and redeployment of the Alliance's military infrastructure to "
        "where it was stationed in 1997. The corresponding draft documents were made available to "
        "Washington and Brussels. We also proposed reaffirming the principle of indivisible "
        "security where no country should take measures aimed at ensuring its own security to the "
        "detriment of others.",
        "However, the discussion failed before it started. In response to our call for a "
        "comprehensive and creative approach to the current situation with all the potential that "
        "we had at that time, the Westerners kept repeating that each country had the right to "
        "choose alliances, meaning that Ukraine had the right to join NATO. NATO ignored all "
        "components of the compromise-based formula of indivisible security. Washington and "
        "Brussels rejected our draft agreements. As you may be aware, before that, for a couple "
        "of decades, we watched this security system being dismantled. Its architecture no longer "
        "served its purpose. However, this was not what really mattered. Over and over again, the "
        "US-led collective West has violated its own commitments assumed under bilateral or "
        "international agreements in spite of oral and written assurances in the form of binding "
        "legal agreements or “words of honour.” Everything that was built before in the wake of "
        "WWII and the geopolitical changes that took place in the late 1980s was destroyed and "
        "turned into dust. We saw it and put it on record. We raised these questions. In the end, "
        "we suggested that we start building a new security architecture. We did that one year "
        "ago, on December 15, 2021.",
        "NATO member states chose not to seize the very real opportunity to defuse tensions. "
        "Their arrogant and cynical refusal, including in violation of international law, to "
        "discuss our initiative on security guarantees has become a determining factor behind the "
        "escalation of the situation in Europe and catalysed the current escalation of "
        "international tension. Instead of sitting down for talks and taking stock of the issues "
        "to be dealt with, the West issued the “start” command and Kiev started shelling Donbass.",
        "At its June summit in Madrid, NATO made a controversial decision to accept Finland and "
        "Sweden and reaffirmed the decision of the 2008 Bucharest summit on Ukraine and Georgia’s "
        "would-be membership of the alliance. Apparently, Ukraine would be accepted when it "
        "completed the criminal work allocated for it by its Western curators.",
        "Since the start of the special military operation, we have been regularly accused of "
        "rejecting dialogue. This is not cynicism but distorted logic. Who is rejecting dialogue? "
        "We started with dialogue exactly a year ago. We drafted our proposals and put them on "
        "the negotiating table. We sent a delegation headed by our top professionals, deputy "
        "foreign ministers who held several dozen successful talks on different issues. Despite "
        "everything, we did everything in our power to reach out and deal with global security by "
        "pooling our efforts. Now they are saying we rejected this dialogue. How interesting. We "
        "repeatedly expressed our principled readiness for a conversation at all levels if the "
        "other side came to realise that it was necessary to respect Russia’s interests. Thus, "
        "Foreign Minister Sergey Lavrov said that “if our Western counterparts realise their "
        "mistakes and express their readiness to return to discussing the documents we proposed "
        "in December 2021, this will be a positive factor. I doubt that they will find the "
        "strength or reason to do this though, but if it happens, we will be ready to return to "
        "dialogue.”",
    ),
)

_AMBASSADOR = Text(
    title="Ambassador meets representatives of the business community in Mumbai",
    paragraphs=(
        "On December 13, 2022, the Ambassador held a meeting in Mumbai with representatives of "
        "the Indian business community, among them members of regional chambers of commerce, "
        "shipping and logistics companies, and pharmaceutical and engineering manufacturers. The "
        "meeting was organised with the assistance of the Consulate General in Mumbai and the "
        "Trade Representation in India.",
        "The Ambassador noted that, in spite of the difficult international situation, bilateral "
        "trade had grown considerably in the course of the year, and that for the first ten "
        "months of 2022 it had already exceeded the figure for the whole of the previous year. He "
        "stressed that the two sides continued to work on mutually acceptable payment mechanisms, "
        "including settlements in national currencies, and welcomed the steps taken by a number "
        "of banks to open the necessary accounts.",
        "Particular attention was paid to transport and logistics. The participants discussed the "
        "development of the International North–South Transport Corridor and the prospects of a "
        "regular maritime line between the ports of the east coast of India and the Russian Far "
        "East. Shipping companies pointed out that reliable insurance of cargo and predictable "
        "freight rates remained their main concerns, and the Ambassador promised to pass their "
        "proposals on to the relevant ministries.",
        "Representatives of the pharmaceutical industry raised questions of product registration "
        "and certification, while engineering companies asked about participation in industrial "
        "exhibitions to be held next year. The Embassy undertook to circulate the calendar of "
        "such events among the chambers of commerce and to assist exhibitors with visa support.",
        "Answering questions about business travel, the Ambassador recalled that the Consular "
        "Section processes applications for business visas within ten working days, and within "
        "three working days in urgent cases, and that the list of required documents is published "
        "on the Embassy website.",
        "The participants agreed that meetings in this format are useful and should be held "
        "regularly. The next meeting with the business community is planned to take place in "
        "Kolkata at the beginning of 2023.",
    ),
)

_BRIEFING = Text(
    title="Briefing by the Foreign Ministry Spokeswoman: main points",
    paragraphs=(
        "At her weekly briefing the Foreign Ministry Spokeswoman commented on current "
        "international issues and answered questions from journalists. Below is a summary of the "
        "main points prepared by the Embassy's press service.",
        "Recalling that a year has passed since Russia handed over to the United States and NATO "
        "its draft documents on security guarantees, the Spokeswoman said that the proposals had "
        "contained three key elements: no further expansion of the Alliance, no deployment of "
        "offensive weapons near Russia’s borders and a return of NATO’s military infrastructure "
        "to the positions of 1997. In her words, the refusal of the Western side to discuss these "
        "proposals seriously was one of the factors behind the present escalation of tension in "
        "Europe.",
        "Speaking about the principle of indivisible security, she stressed that it had been "
        "repeatedly affirmed in documents adopted at the highest level, including within the "
        "Organization for Security and Co-operation in Europe, and that no state may strengthen "
        "its own security at the expense of the security of others. Russia, she added, remains "
        "open to a dialogue on these questions, provided that its legitimate interests are "
        "respected.",
        "Answering a question about cooperation with the countries of Asia, the Spokeswoman noted "
        "the importance of the forthcoming chairmanship of India in the Shanghai Cooperation "
        "Organisation and in the Group of Twenty, and expressed the hope that both would "
        "contribute to a more balanced and representative system of global governance.",
        "On consular matters, the Spokeswoman reminded citizens planning trips abroad during the "
        "winter holidays to check the current entry rules of the countries of destination, to "
        "carry copies of their documents and to keep at hand the contact details of the nearest "
        "embassy or consulate.",
        "The Spokeswoman also drew attention to forthcoming events in the Ministry's calendar: "
        "consultations between the foreign ministries of the two countries on consular matters, "
        "scheduled for the second half of January, and a meeting of the joint working group on "
        "countering terrorism. The dates and formats of these events will be announced "
        "separately.",
        "In conclusion, she answered questions about the work of Russian diplomatic missions "
        "abroad during the holiday season, noting that the duty services of embassies and "
        "consulates general work around the clock and that citizens in difficulty can always "
        "count on consular assistance.",
    ),
)

_TRAVEL = Text(
    title="Travel advisory: recommendations for citizens travelling during the winter season",
    paragraphs=(
        "The Embassy draws the attention of citizens travelling to India in December–February to "
        "a number of circumstances that may affect their plans. During these months dense fog "
        "regularly causes delays and cancellations of flights and trains in the northern states, "
        "especially in the early morning. Travellers are advised to allow extra time for "
        "connections and to follow the announcements of airlines and railway operators.",
        "Please make sure that your visa matches the purpose of your trip. Tourist visas do not "
        "give the right to work, to study or to take part in paid events. Visits to some border "
        "areas and to several north-eastern states require a separate permit, which should be "
        "obtained in advance through a licensed travel agency or the local authorities.",
        "Bank cards issued by Russian banks under international payment systems may not be "
        "accepted in India. Travellers are advised to plan their expenses accordingly and to "
        "carry a sufficient amount of cash, declaring it on arrival where this is required by the "
        "customs rules.",
        "Keep copies of your passport, visa and medical insurance policy separately from the "
        "originals. In case of loss or theft of your passport, report it immediately to the "
        "nearest police station, obtain a written certificate and contact the Consular Section of "
        "the Embassy or the nearest Consulate General to receive a certificate of return.",
        "Air pollution in Delhi and in several other cities of the Indo-Gangetic plain "
        "traditionally rises in winter. Persons suffering from respiratory or cardiovascular "
        "diseases are advised to consult a doctor before the trip, to limit their time outdoors "
        "on days of high pollution and to follow the recommendations of the local authorities.",
        "When choosing a hotel or a guest house, give preference to establishments registered "
        "with the tourism authorities: foreign guests must be registered by their accommodation "
        "provider, and the absence of such registration may cause difficulties on departure. Use "
        "licensed taxis or ride-hailing services and avoid travelling alone at night in "
        "unfamiliar areas.",
        "Citizens staying in India for a long time are encouraged to register with the Consular "
        "Section. In an emergency outside working hours you may contact the duty officer of the "
        "Embassy by the telephone number given on the Contacts page.",
    ),
)

_CULTURE = Text(
    title="Days of Russian Culture open in New Delhi — «Россия и Индия: диалог культур»",
    paragraphs=(
        "On December 6, 2022, the Days of Russian Culture opened in New Delhi under the motto "
        "“Russia and India: a dialogue of cultures” («Россия и Индия: диалог культур»). The "
        "guests were welcomed in three languages — “Добро пожаловать!”, “Welcome!” and “नमस्ते!” "
        "— by the organisers from the Russian House and their Indian partners.",
        "The programme of the week includes a performance of Tchaikovsky’s ballet «Щелкунчик» "
        "(The Nutcracker) by a touring company, an exhibition of Gzhel porcelain and Khokhloma "
        "painting, screenings of classic Soviet films with English subtitles and a master class "
        "in Russian cuisine at the café of the Russian House, where visitors could taste blini, "
        "pelmeni and syrniki.",
        "Tickets for the ballet are priced from ₹ 500 to ₹ 2,500; entry to the exhibition and the "
        "film screenings is free of charge. Students of Russian at Indian universities are "
        "entitled to a 50 % discount on presentation of their student card.",
        "Speaking at the opening, the Ambassador said that cultural ties between the two peoples "
        "have a long history — from Afanasy Nikitin’s journey “beyond three seas” in the 15th "
        "century to the friendship of Nicholas Roerich with Indian artists and thinkers — and "
        "that interest in the Russian language and culture in India continues to grow.",
        "An exhibition of children’s drawings «Мир глазами детей» (“The world through children’s "
        "eyes”), prepared jointly by schools in Moscow, New Delhi and Pune, is shown in the "
        "foyer. Young artists aged 7–14 submitted more than 300 works; the best of them will be "
        "published in a bilingual catalogue.",
        "Admission to all events requires prior registration on the website of the Russian House. "
        "Visitors are kindly asked to arrive 20 minutes before the start of a performance; "
        "latecomers are admitted during the interval only.",
        "The Days of Russian Culture will continue until December 13 and will then travel to "
        "Kolkata, Chennai and Thiruvananthapuram. The full programme is available at the Russian "
        "House.",
    ),
)

_CONSULAR = Text(
    title="Consular notice: reception of visitors by the Consular Section in December",
    paragraphs=(
        "The Consular Section of the Embassy informs that in December 2022 visitors are received "
        "from Monday to Friday, from 09.00 to 12.00, by prior appointment made through the "
        "electronic queue system. Ready documents are issued from 15.00 to 16.00 on the same "
        "days.",
        "On December 16 and December 30, 2022, the Consular Section will not receive visitors for "
        "technical reasons. Appointments already made for these dates will be transferred "
        "automatically to the nearest available day; applicants will be informed by e-mail.",
        "Applications for passports, certificates of return, notarial acts and documents "
        "concerning civil status are accepted only from persons who have made an appointment. "
        "Applicants should arrive no earlier than fifteen minutes before the appointed time and "
        "bring the originals of all documents listed on the Consular Section's page for the "
        "relevant service.",
        "Consular fees are paid in Indian rupees at the rate fixed on the day the application is "
        "submitted. Payment is accepted by bank transfer or at the cash desk of the Consular "
        "Section; receipts must be kept until the documents are issued.",
        "Please note that the electronic queue system opens appointments for the following two "
        "weeks every Monday at 10.00 New Delhi time. Applicants who are unable to come at the "
        "appointed time are asked to cancel their appointment in the system, so that it can be "
        "offered to other citizens.",
        "Citizens residing in the consular districts of the Consulates General in Mumbai, Kolkata "
        "and Chennai are advised to apply to the relevant Consulate General, where the reception "
        "schedule may differ. Information on their working hours is published on their own "
        "websites.",
        "In urgent cases, such as the loss of a passport before a scheduled flight, the "
        "hospitalisation or detention of a citizen, or the death of a relative, please contact "
        "the duty officer of the Embassy at any time of the day.",
    ),
)

_VISA = Text(
    title="Notice on the visa regime for foreign citizens",
    paragraphs=(
        "The Embassy reminds foreign citizens intending to travel to the Russian Federation that, "
        "with the exception of the categories exempted by international agreements, a visa must "
        "be obtained before the trip. Applications are accepted at the visa application centres "
        "in New Delhi, Mumbai, Kolkata and Chennai, as well as at the Consular Section of the "
        "Embassy by appointment.",
        "Depending on the purpose of the trip, tourist, business, private, study, work, "
        "humanitarian and transit visas are issued. An application must be supported by an "
        "invitation or a confirmation of reception issued by the receiving party, a passport "
        "valid for at least six months after the expiry of the visa, a completed electronic "
        "application form with a photograph, and a medical insurance policy valid in the "
        "territory of the Russian Federation.",
        "The standard processing time is up to ten working days from the day the complete set of "
        "documents is accepted. In urgent cases, visas may be issued within three working days, "
        "subject to payment of the increased fee. The Consular Section reserves the right to "
        "request additional documents or an interview with the applicant.",
        "Visa fees are charged in Indian rupees according to the schedule published at the visa "
        "application centres. Fees are not refunded if a visa is refused. Holders of diplomatic "
        "and official passports submit their applications through the relevant ministries.",
        "Applicants are reminded that the visa application centres are private companies acting "
        "under agreements with the Embassy. They accept documents and return passports, but "
        "decisions on the issuance of visas are taken exclusively by the Consular Section. The "
        "service charges of the centres are paid in addition to the consular fee.",
        "Foreign citizens are advised to check the information about their visa carefully on "
        "receipt. Errors in the spelling of names, in passport numbers or in the dates of "
        "validity must be reported before departure, since they may lead to refusal of entry at "
        "the border.",
    ),
)

_PASSPORT = Text(
    title="On applications for biometric passports",
    paragraphs=(
        "The Consular Section of the Embassy continues to accept applications for passports of "
        "the new generation containing an electronic data carrier, valid for ten years. "
        "Applications are accepted from citizens permanently or temporarily residing in India by "
        "prior appointment.",
        "The applicant must appear in person: the photograph and fingerprints are taken at the "
        "Consular Section with special equipment, so no printed photographs are required. "
        "Children under the age of fourteen must be accompanied by one of their parents or by a "
        "legal representative.",
        "The application form is filled in on the official portal of public services, printed and "
        "signed by the applicant. The application must be accompanied by the internal or current "
        "foreign passport and, for men aged eighteen to twenty-seven, by a document on military "
        "registration.",
        "The production of a new passport may take up to three months. Applicants will be "
        "notified by e-mail when the passport is ready; it must be collected in person within six "
        "months.",
        "Passports of the previous generation, valid for five years, are issued to children under "
        "the age of fourteen on request, and to applicants who need a document urgently. The "
        "processing time for such passports is up to one month.",
        "If a passport has been lost or stolen, the applicant must first submit a statement of "
        "loss; a new passport is issued after the necessary checks have been carried out. In the "
        "meantime, a certificate of return may be issued for travel to the Russian Federation.",
        "The consular fee for a passport of the new generation is charged in Indian rupees at the "
        "rate established on the day of application; reduced fees apply to children. Detailed "
        "information on fees and the list of documents is available on the Consular Section's "
        "page.",
    ),
)

_FORUM = Text(
    title="Round table on trade and economic cooperation held at the Embassy",
    paragraphs=(
        "On November 17, 2022, a round table on trade and economic cooperation was held at the "
        "Embassy with the participation of representatives of ministries, regional "
        "administrations, banks and business associations of the two countries.",
        "Opening the event, the Ambassador noted that the partnership between the two countries "
        "in trade and investment rests on a long tradition and on a broad legal framework, "
        "including agreements on the avoidance of double taxation and on the promotion and mutual "
        "protection of investments. He called on the participants to make full use of these "
        "instruments.",
        "The participants reviewed the results of the year and noted the growth of mutual trade "
        "in energy resources, fertilisers, agricultural products and pharmaceuticals. They also "
        "discussed the diversification of trade, the increase of Indian exports and the need to "
        "address logistical constraints on both sides.",
        "The representatives of the Indian side drew attention to the potential for increasing "
        "supplies of engineering goods, textiles, tea, coffee, spices and seafood, and to the "
        "interest of Indian companies in new logistical routes. Several participants proposed "
        "establishing a working group on standards and certification.",
        "Special sessions were devoted to cooperation between regions, to joint projects in "
        "mechanical engineering and to the use of national currencies in mutual settlements. The "
        "representatives of banks presented the services already available to exporters and "
        "importers.",
        "Summing up, the participants agreed to prepare joint recommendations for the next "
        "session of the intergovernmental commission and to hold the round table annually.",
        "The round table was attended by about sixty participants; some of them joined the "
        "discussion by videoconference from Moscow, Mumbai and Chennai.",
    ),
)

_HOLIDAYS = Text(
    title="Working schedule of the Embassy during the New Year holidays",
    paragraphs=(
        "The Embassy informs that from December 31, 2022 to January 8, 2023 it will not work with "
        "visitors in connection with the New Year and Christmas holidays. During this period the "
        "Consular Section will not accept applications or issue documents.",
        "The Consular Section will resume reception of visitors on January 9, 2023, according to "
        "the usual schedule: from Monday to Friday, from 09.00 to 12.00, by prior appointment.",
        "Documents that were scheduled to be issued between December 31 and January 8 can be "
        "collected from January 9 without a new appointment, from 15.00 to 16.00.",
        "In emergencies involving the life, health or liberty of citizens, the duty officer of "
        "the Embassy can be reached around the clock, including on public holidays.",
        "Visa applications submitted through the visa application centres before December 28 will "
        "be processed in the usual manner; passports will be returned to applicants through the "
        "centres according to their own schedules, published on their websites.",
        "Citizens who plan to travel to the Russian Federation during the holidays are advised to "
        "check the validity of their passports in advance. During the holidays a certificate of "
        "return can be issued only in emergencies, on application to the duty officer.",
        "The Embassy congratulates compatriots and friends of our country on the coming New Year "
        "and Christmas and wishes them health, happiness and prosperity.",
    ),
)

# --- Russian articles (served in windows-1251) ------------------------------------------

_SECURITY_RU = Text(
    title="О гарантиях безопасности",
    lead="(из брифинга официального представителя МИД России, 15 декабря 2022 года)",
    paragraphs=(
        "В связи с годовщиной передачи американской стороне 15 декабря 2021 года проекта договора "
        "между Российской Федерацией и Соединёнными Штатами Америки о гарантиях безопасности, а "
        "также проекта соглашения о мерах обеспечения безопасности Российской Федерации и "
        "государств — членов Организации Североатлантического договора хотела бы напомнить ряд "
        "фактов.",
        "В декабре прошлого года Россия предложила заключить с США и НАТО юридически обязывающие "
        "договорённости о гарантиях безопасности нашей страны. Ключевыми элементами были отказ от "
        "дальнейшего расширения НАТО, неразмещение ударных вооружений вблизи российских границ и "
        "возвращение военной инфраструктуры альянса на позиции 1997 года. Соответствующие проекты "
        "документов были переданы Вашингтону и Брюсселю. Мы также предложили подтвердить принцип "
        "неделимости безопасности, согласно которому ни одно государство не должно укреплять свою "
        "безопасность за счёт безопасности других.",
        "Однако дискуссия провалилась, так и не начавшись. В ответ на наш призыв к всеобъемлющему "
        "и творческому подходу западные коллеги твердили лишь о праве каждой страны выбирать "
        "союзы. Вашингтон и Брюссель отвергли наши проекты соглашений, проигнорировав все "
        "компоненты компромиссной формулы неделимой безопасности.",
        "Страны НАТО не воспользовались реальной возможностью снизить напряжённость. Их отказ "
        "обсуждать нашу инициативу стал одним из определяющих факторов эскалации ситуации в "
        "Европе и резкого роста международной напряжённости.",
        "Дальнейшее развитие событий показало, что Соединённые Штаты не заинтересованы в диалоге "
        "по вопросам международной и прежде всего европейской безопасности. НАТО продолжило "
        "накачивать Украину оружием, а на саммите в Мадриде в июне было принято решение о приёме "
        "в альянс Финляндии и Швеции.",
        "С начала специальной военной операции нас регулярно обвиняют в отказе от диалога. Но "
        "именно мы год назад начали с диалога: подготовили предложения и положили их на стол "
        "переговоров. Мы направили делегацию во главе с заместителями министра иностранных дел, "
        "которые провели несколько десятков встреч по различным вопросам. Мы неоднократно "
        "заявляли о принципиальной готовности к разговору на всех уровнях, если другая сторона "
        "осознает необходимость уважать интересы России.",
    ),
)

_NOTICE_RU = Text(
    title="О порядке приёма граждан консульским отделом в январе 2023 года",
    paragraphs=(
        "Консульский отдел Посольства информирует, что в период с 1 по 8 января 2023 года приём "
        "граждан осуществляться не будет. В случае экстренной необходимости (утрата паспорта, "
        "задержание, госпитализация, смерть близкого человека) просим обращаться к дежурному "
        "сотруднику Посольства по телефону, указанному в разделе «Контакты».",
        "С 9 января 2023 года приём возобновляется в обычном режиме: понедельник — пятница, с "
        "09.00 до 12.00, по предварительной записи через электронную систему. Выдача готовых "
        "документов производится с 15.00 до 16.00.",
        "Напоминаем, что для оформления заграничного паспорта нового образца необходимо лично "
        "явиться в консульский отдел с действующим паспортом; фотографирование производится на "
        "месте. № заявления указывается в квитанции об оплате консульского сбора.",
        "Консульский сбор оплачивается в индийских рупиях по курсу, установленному на дату подачи "
        "документов. Квитанцию об оплате следует сохранять до получения документов.",
        "Граждане, постоянно проживающие в Индии, могут встать на консульский учёт, предъявив "
        "паспорт и документ, подтверждающий право проживания в стране. Постановка на учёт "
        "облегчает оказание помощи в чрезвычайных ситуациях.",
        "Обращаем внимание, что запись на приём открывается каждый понедельник в 10.00 по времени "
        "Нью-Дели на две недели вперёд. Если вы не можете прийти в назначенное время, просим "
        "отменить запись, чтобы ею могли воспользоваться другие граждане.",
        "Граждане, проживающие в консульских округах генеральных консульств России в Мумбаи, "
        "Калькутте и Ченнаи, могут обращаться непосредственно в соответствующее генеральное "
        "консульство. Информация о режиме их работы размещена на их официальных сайтах.",
    ),
)


def _article(
    name: str,
    path: str,
    date: datetime.date,
    versions: dict[str, Text],
    *,
    language: Language = "en",
    encoding: str = "utf-8",
    charset_in_header: bool = True,
    meta_charset: bool = True,
) -> Article:
    return Article(
        name=name,
        path=path,
        language=language,
        date=date,
        versions=versions,
        encoding=encoding,
        charset_in_header=charset_in_header,
        meta_charset=meta_charset,
    )


ARTICLES: dict[str, Article] = {
    article.name: article
    for article in (
        _article(
            "statement-security",
            "/en/news/2022/12/15/security-guarantees.html",
            datetime.date(2022, 12, 15),
            {
                "v1": _SECURITY,
                # Round 1: a figure and a clause of one sentence edited after publication.
                "v2": edited(
                    _SECURITY,
                    replacements=(
                        (
                            "deputy foreign ministers who held several dozen successful talks on "
                            "different issues",
                            "two deputy foreign ministers who held more than twenty rounds of "
                            "talks in Geneva, Brussels and Vienna",
                        ),
                    ),
                ),
            },
        ),
        _article(
            "ambassador-meeting",
            "/en/news/2022/12/14/ambassador-business-meeting.html",
            datetime.date(2022, 12, 14),
            {"v1": _AMBASSADOR},
        ),
        _article(
            "briefing",
            "/en/news/2022/12/12/briefing-main-points.html",
            datetime.date(2022, 12, 12),
            {
                "v1": _BRIEFING,
                # Round 1: only the title is rewritten.
                "v2": edited(
                    _BRIEFING,
                    title="Main points of the Foreign Ministry briefing of December 8, 2022",
                ),
            },
        ),
        _article(
            "travel-advisory",
            "/en/news/2022/12/09/travel-advisory-winter.html",
            datetime.date(2022, 12, 9),
            {"v1": _TRAVEL},
        ),
        _article(
            "culture-days",
            "/en/news/2022/12/07/days-of-russian-culture.html",
            datetime.date(2022, 12, 7),
            {"v1": _CULTURE},
            # UTF-8 bytes, but neither the header nor the document names a charset.
            charset_in_header=False,
            meta_charset=False,
        ),
        _article(
            "consular-notice",
            "/en/news/2022/12/05/consular-reception-december.html",
            datetime.date(2022, 12, 5),
            {"v1": _CONSULAR},
        ),
        _article(
            "visa-notice",
            "/en/news/2022/11/29/visa-regime-notice.html",
            datetime.date(2022, 11, 29),
            {"v1": _VISA},
        ),
        _article(
            "passport-notice",
            "/en/news/2022/11/24/biometric-passports.html",
            datetime.date(2022, 11, 24),
            {"v1": _PASSPORT},
        ),
        _article(
            "trade-round-table",
            "/en/news/2022/11/18/trade-round-table.html",
            datetime.date(2022, 11, 18),
            {"v1": _FORUM},
        ),
        _article(
            "holiday-schedule",
            "/en/news/2022/12/20/new-year-holidays-schedule.html",
            datetime.date(2022, 12, 20),
            {
                "v1": _HOLIDAYS,
                # Round 3: the reopening date is corrected (a figure and a clause).
                "v2": edited(
                    _HOLIDAYS,
                    replacements=(
                        (
                            "will resume reception of visitors on January 9, 2023, according to "
                            "the usual",
                            "will resume reception of visitors on January 10, 2023, after a "
                            "technical day, according to the usual",
                        ),
                        (
                            "collected from January 9 without a new appointment",
                            "collected from January 10 without a new appointment",
                        ),
                    ),
                ),
            },
        ),
        _article(
            "statement-security-ru",
            "/ru/news/2022/12/15/garantii-bezopasnosti.html",
            datetime.date(2022, 12, 15),
            {
                "v1": _SECURITY_RU,
                # Round 2: a figure and a clause of one sentence edited.
                "v2": edited(
                    _SECURITY_RU,
                    replacements=(
                        (
                            "несколько десятков встреч по различным вопросам",
                            "более двадцати раундов консультаций в Женеве, Брюсселе и Вене",
                        ),
                    ),
                ),
            },
            language="ru",
            # windows-1251, named only in the Content-Type header (no <meta> charset).
            encoding="windows-1251",
            meta_charset=False,
        ),
        _article(
            "consular-notice-ru",
            "/ru/news/2022/12/14/priem-grazhdan-yanvar.html",
            datetime.date(2022, 12, 14),
            {
                "v1": _NOTICE_RU,
                # Round 3: the reopening date and the hours change.
                "v2": edited(
                    _NOTICE_RU,
                    replacements=(
                        ("С 9 января 2023 года", "С 10 января 2023 года"),
                        ("с 09.00 до 12.00", "с 09.30 до 12.30"),
                    ),
                ),
            },
            language="ru",
            # windows-1251, declared only by <meta charset>; the header names no charset.
            encoding="windows-1251",
            charset_in_header=False,
        ),
    )
}
"""Every article the site can serve, by logical page name, with all its versions."""

HOME_WELCOME: dict[Language, tuple[str, ...]] = {
    "en": (
        "Welcome to the website of the Embassy. Here you will find statements of the Foreign "
        "Ministry, news of the Embassy, and information on consular services and visas.",
        "The Consular Section receives visitors by prior appointment. Please check the notices "
        "below before your visit.",
    ),
    "ru": ("Добро пожаловать на сайт Посольства.",),
}

PRIVATE_TEXT: tuple[str, ...] = (
    "Staff area. Access is restricted to employees of the Embassy.",
    "This section is excluded by robots.txt; a polite crawler never requests it.",
)

APP_JS = """\
/* Embassy site scripts (demo). */
(function () {
  "use strict";
  var menu = document.querySelector(".main-menu");
  if (menu) {
    menu.addEventListener("click", function (event) {
      var item = event.target.closest("li");
      if (item) { item.classList.toggle("open"); }
    });
  }
  window.embassySite = { ready: true };
})();
"""

STYLE_CSS = """\
body { font-family: Georgia, serif; margin: 0; color: #222; }
.site-header { background: #1c3f6e; color: #fff; padding: 12px 24px; }
.site-header a { color: #fff; }
.main-menu ul { list-style: none; margin: 0; padding: 0 24px; background: #e9eef5; }
.main-menu li { display: inline-block; padding: 8px 12px; }
.layout { display: flex; gap: 24px; padding: 0 24px; }
main { flex: 3; }
aside.sidebar { flex: 1; font-size: 90%; }
footer { border-top: 1px solid #ccc; padding: 12px 24px; font-size: 85%; color: #555; }
"""

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
