"""Where the CRM stops taking a till's ops, told as a blocking problem with what to do.

The CRM takes a till's ops strictly in seq order. It stops at a gap (an earlier seq has not
reached it) and at a seq it holds for another op of the till (the till's database is older
than the CRM's record of it: restored from an old copy). Either way the ops wait in the
queue, nothing is lost, and they move again only when a supervisor renumbers them after
the CRM's last seq (`Outbox.renumber_unsent`). Registering the till again is no fix: the
database stays bound to its till id, and the ops the CRM applied under the old id would come
back refused as reused op ids.
"""

from __future__ import annotations

from tillcrm.api import Op, PushResponse, PushStop, StopReason
from tillcrm.local import SeqStop

__all__ = ["RENUMBER", "seq_stop"]

RENUMBER = (
    "a supervisor renumbers the unsent ops after the CRM's seq {last} (sync screen: R, or "
    "`tillcrm sync --renumber`)"
)
"""The fix that moves a stopped queue, as the problem names it."""


def seq_stop(sent: list[Op], response: PushResponse) -> SeqStop | None:
    """Why the CRM answered none of the sent ops from some seq on, with the fix; None when it
    answered them all. A CRM that does not say why (`stopped` came later) is read by its
    last seq."""
    answered = {result.op_id for result in response.results}
    waiting = [op.seq for op in sent if op.op_id not in answered and op.seq is not None]
    if not waiting:
        return None
    stop = response.stopped or _stop_by_last_seq(waiting[0], response.last_seq)
    fix = RENUMBER.format(last=response.last_seq)
    problem = f"the CRM stopped taking this till's ops: {stop.detail}. They wait unsent; {fix}"
    return SeqStop(problem, response.last_seq)


def _stop_by_last_seq(seq: int, last_seq: int) -> PushStop:
    """The stop of a CRM that answered none of the ops from `seq` on and said only its
    `last_seq`."""
    if seq <= last_seq:
        return PushStop(
            seq=seq,
            reason=StopReason.SEQ_TAKEN,
            detail=(
                f"it has this till's ops up to seq {last_seq}, so op {seq} and the ops after it "
                "are older than its record of this till (restored from an old copy?)"
            ),
        )
    return PushStop(
        seq=seq,
        reason=StopReason.GAP,
        detail=f"it has this till's ops up to seq {last_seq} and waits for op {last_seq + 1}",
    )
