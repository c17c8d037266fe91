"""Detection: pure stages that turn a fetch into what it means.

decode -> quality (is this a capture of the page?) -> extract (its content region) ->
normalize -> volatility / site_boilerplate (what is noise) -> observe (all of the
above, one FetchResult in, one Observation out) -> events (new version? which event?)
-> significance (how much it matters), with differ (text, link and image diffs),
terms (watch terms) and listing (a listing's links judged) beside them.

Nothing here touches the network or the database.
"""

from __future__ import annotations

__all__: list[str] = []
