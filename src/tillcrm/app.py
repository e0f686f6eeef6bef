"""`TillApp`: the till's terminal UI, wiring the `TillService`, the readers and the sync worker.

Readers report from their own threads through one callback; the app turns each event into a
Textual message with the thread-safe `post_message` (never `call_from_thread`, which would block
a reader until the UI had handled it) and `CardRouter` sends it where it belongs; a keyboard-wedge
scanner's keys are caught by `WedgeKeys` before they reach the focused input. `SyncLink` runs
the sync engine as a worker in the app's loop. The app holds the till's state (place, operator,
sync, pull, readers) as reactive attributes the status bars watch; screens tell it what
happened with messages (`LoggedIn`, `CustomerIdentified`).

The login form paints with only Textual imported: this module imports the rest of the till (its
service, readers, sync and the screens after login) where they are used. The app is built over
the till's `TillParts`: ready ones (`tillcrm.cli.run.create_app`, for the demo and the tests),
or an `Opener` the production till runs behind the login form, so the cashier types while the
config, the database and the CRM client open. Both paths build and start the till through
`_build` and `_start`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.worker import WorkerFailed

from tillcrm.card_routing import CardRouter, DeviceEventMessage
from tillcrm.screens.login import LoginScreen
from tillcrm.screens.messages import CustomerIdentified, LoggedIn
from tillcrm.sync_link import PullProgressMessage, SyncLink, SyncStatusMessage
from tillcrm.till_parts import Opener, TillParts, import_after_login

if TYPE_CHECKING:
    from tillcrm.config import Settings
    from tillcrm.devices.events import DeviceEvent, LinkState
    from tillcrm.devices.manager import DeviceManager
    from tillcrm.devices.printer import EscposPrinter
    from tillcrm.devices.wedge import WedgeDetector
    from tillcrm.domain import IdentifierKind
    from tillcrm.screens._base import TillScreen
    from tillcrm.screens.devices import DeviceBoard
    from tillcrm.screens.identify import IdentifyScreen
    from tillcrm.screens.profile.screen import ProfileScreen
    from tillcrm.sync import PullProgress, SyncEngine, SyncStatus
    from tillcrm.till import Ambiguous, Identification, NotFound, TillService
    from tillcrm.widgets.money import MoneyFormat
    from tillcrm.widgets.wedge import WedgeKeys, WedgeScanned

S = TypeVar("S", bound="TillScreen[Any]")

__all__ = ["TillApp"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent


class TillApp(App[None]):
    """The till: login, identify (home) and the customer profile, with readers and sync."""

    CSS_PATH = _HERE / "app.tcss"
    """Absolute: Textual reads a relative path from the file of the class, and the demo's app
    subclasses this one in another package. Each screen reads its own styles (CSS_PATH)
    when first shown, so the login form paints after parsing only these."""
    TITLE = "tillcrm"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "home", "Home", priority=True),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+o", "logout", "Log out"),
        Binding("ctrl+y", "sync_screen", "Sync"),
        Binding("ctrl+r", "readers", "Readers"),
        Binding("ctrl+c", "ctrl_c_quit", show=False, priority=True),
    ]

    settings: Settings
    till: TillService
    money: MoneyFormat
    printer: EscposPrinter | None
    """The receipt printer (`[printer]`); None when the till has none."""
    identify: IdentifyScreen
    """The home screen."""
    device_board: DeviceBoard
    """Each reader's state and last read, for the readers screen."""
    _devices: DeviceManager

    place: var[tuple[str, str]] = var(("starting…", ""))
    """The till's and its store's names (known once the till is open)."""
    operator_name: var[str] = var("")
    """Who is logged in (empty: nobody)."""
    sync_status: var[SyncStatus | None] = var(None)
    """The sync engine's last status, None before the first."""
    pull_progress: var[PullProgress | None] = var(None)
    """The last full pull's progress (the first sync loads the whole scope)."""
    device_states: var[dict[str, LinkState]] = var(dict)
    """Each reader's state, by name (replaced, never changed in place, so watchers see it)."""

    def __init__(
        self,
        parts: TillParts | Opener,
        *,
        ctrl_c_quits: bool = False,
        detector: WedgeDetector | None = None,
    ) -> None:
        super().__init__()
        self.ctrl_c_quits = ctrl_c_quits
        """Ctrl+C ends the app (the demo); a production till leaves it to the inputs (copy),
        so a stray key never closes the till mid-shift."""
        self._detector = detector
        self._opener: Opener | None = None
        self.sync: SyncEngine | None = None
        """The sync engine, once the till is open and has a CRM to sync with."""
        self._sync_link = SyncLink(self)
        self._wedge: WedgeKeys | None = None
        """The keyboard-wedge filter, once the till is open (before that keys go straight to
        the login form)."""
        self._opened = asyncio.Event()
        self.start_error: BaseException | None = None
        """Why the till could not open (the app then exits); the CLI reports it."""
        self._router = CardRouter(self)
        if isinstance(parts, TillParts):
            self._build(parts)
        else:
            self._opener = parts

    # -- life --------------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Ask the operator to log in; start the till now if its parts are ready, else open
        them once the login form is painted."""
        self.push_screen(self.furnish(LoginScreen()))
        if self._opener is None:
            self._start()
        else:
            self.call_after_refresh(self._open, self._opener)

    @work(group="open", exit_on_error=False)
    async def _open(self, opener: Opener) -> None:
        """Import the rest of the till in a thread, then open its parts; a failure ends the
        app (the CLI reports it after the terminal is restored)."""
        try:
            await asyncio.to_thread(import_after_login)
            parts = await opener(self)
        except Exception as exc:
            self.start_error = exc
            self.exit(return_code=1)
            return
        self._build(parts)
        self._start()

    def _build(self, parts: TillParts) -> None:
        """The till's service, readers, sync engine and home screen over `parts`."""
        from tillcrm.devices.manager import DeviceManager
        from tillcrm.devices.printer import open_printer
        from tillcrm.devices.wedge import WedgeDetector
        from tillcrm.screens.devices import DeviceBoard
        from tillcrm.screens.identify import IdentifyScreen
        from tillcrm.sync import SyncEngine
        from tillcrm.till import TillService
        from tillcrm.widgets.money import MoneyFormat
        from tillcrm.widgets.wedge import WedgeKeys

        settings = parts.settings
        self.settings = settings
        self.place = (parts.context.till_name, parts.context.store.name)
        self.till = TillService(parts.db, parts.context, settings, parts.client)
        self.money = MoneyFormat(settings.locale.locale, settings.locale.currency)
        self.printer = open_printer(settings.printer, self.money)
        self._devices = DeviceManager(settings.devices, self.deliver_device_event)
        self._wedge = WedgeKeys(self, self._route_key, self._detector or WedgeDetector())
        self.identify = self.furnish(
            IdentifyScreen(self.till, phone_region=settings.locale.phone_region)
        )
        self.device_board = DeviceBoard(settings.devices)
        if parts.client is not None:
            self.sync = SyncEngine(
                parts.db,
                parts.client,
                settings.sync,
                on_status=self._sync_link.deliver_status,
                on_pull_progress=self._sync_link.deliver_pull_progress,
            )

    def _start(self) -> None:
        """Install the profile and home screens, and start the readers and sync."""
        from tillcrm.screens.profile.screen import ProfileScreen

        profile = ProfileScreen(
            self.till,
            self.money,
            phone_region=self.settings.locale.phone_region,
            printer=self.printer,
        )
        self.install_screen(profile, "profile")
        self.install_screen(self.identify, "identify")
        self._opened.set()
        self._devices.start()
        if self.sync is not None:
            self._sync_link.start(self.sync)

    @property
    def is_open(self) -> bool:
        """The till's parts are open: its service, readers and screens exist."""
        return self._opened.is_set()

    async def opened(self) -> TillService:
        """The till's service, once open (the login form waits here for a quick cashier)."""
        await self._opened.wait()
        return self.till

    async def on_unmount(self) -> None:
        """Stop the sync worker and close the readers' ports."""
        self._sync_link.stop()
        if self.is_open:
            await asyncio.to_thread(self._devices.stop)

    # -- readers and sync, from their threads and workers ------------------------------------

    def deliver_device_event(self, event: DeviceEvent) -> None:
        """The device manager's callback: safe from any thread, returns at once."""
        self.post_message(DeviceEventMessage(event))

    @on(PullProgressMessage)
    def _show_pull(self, message: PullProgressMessage) -> None:
        self.pull_progress = message.progress

    @on(SyncStatusMessage)
    def _show_sync(self, message: SyncStatusMessage) -> None:
        self.sync_status = message.status

    @on(DeviceEventMessage)
    def _device_event(self, message: DeviceEventMessage) -> None:
        self._router.device_event(message.event)

    def on_wedge_scanned(self, message: WedgeScanned) -> None:
        """A keyboard-wedge scanner typed a code (handled by name: the message's module is
        imported once the till is open)."""
        self._router.wedge_scanned(message.code)

    @work(group="identify", exclusive=True)
    async def identify_card(self, kind: IdentifierKind, value: str) -> None:
        """Look up a card read at the till and show what was found."""
        self.show_identified(await self.till.identify(kind, value))

    # -- screens -----------------------------------------------------------------------------

    @property
    def profile(self) -> ProfileScreen:
        """The one profile screen, built once and refreshed per customer (installed as
        "profile": a till with a receipt printer installs its own before logging in)."""
        from tillcrm.screens.profile.screen import ProfileScreen

        return self.get_screen("profile", ProfileScreen)

    def furnish(self, screen: S) -> S:
        """The login or the home `screen` as this app shows it: as it is here (the demo's app
        adds its card panel)."""
        return screen

    @on(CustomerIdentified)
    def _customer_identified(self, message: CustomerIdentified) -> None:
        self.show_identified(message.found)

    def show_identified(self, found: Identification | Ambiguous | NotFound) -> None:
        """Open the profile of an identified customer, or say why there is none."""
        from tillcrm.screens.register_here import offer_registration
        from tillcrm.till import Ambiguous, Identification

        if isinstance(found, Identification):
            self.open_profile(found)
        elif isinstance(found, Ambiguous):
            self.notify(
                f"{len(found.candidates)} customers share this number: pick one from the list",
                severity="warning",
            )
            self._show(self.identify)
            self.identify.show_results(found.candidates)
        elif found.register is not None:
            offer_registration(self, found.register)
        else:
            self.notify(found.reason, severity="warning")

    def open_profile(self, found: Identification) -> None:
        """Show the customer on the one profile screen: revealed first, then updated, so the
        widgets change on the screen being drawn. An offline visit is not toasted: the status
        bar already says offline and counts it in the queue, and a toast per scan would cover
        the screen the cashier is reading."""
        if isinstance(self.screen, ModalScreen):
            return
        self._show(self.profile)
        self.profile.show(found.customer)

    def _show(self, target: Screen[None]) -> None:
        """Bring the installed screen `target` to the top.

        The stack after login is profile, then identify over it: a scan pops the screens
        above the profile, and a screen revealed by a pop keeps its styles, where a pushed
        screen has all of them recomputed (about 0.1-0.2 s for the seven-tab profile). So the
        scan path never pushes; going home from the profile pushes the smaller identify screen.
        """
        if target in self.screen_stack:
            while self.screen is not target:
                self.pop_screen()
        else:
            self.push_screen(target)

    @on(LoggedIn)
    def _logged_in(self, message: LoggedIn) -> None:
        """The login screen accepted an operator: go home, then build the profile unseen."""
        self.operator_name = message.operator.name
        self.call_next(self._enter)

    async def _enter(self) -> None:
        """Replace the login screen with the identify screen; once that is painted, stage the
        profile under it, so the cashier is home without waiting for the seven tabs."""
        await self.switch_screen("identify")
        self.call_after_refresh(self._stage_profile)

    async def _stage_profile(self) -> None:
        """Compose the profile under the identify screen (the stack `_show` expects), unless
        a scan already brought it up or the operator left home meanwhile."""
        if self.profile in self.screen_stack or self.screen is not self.identify:
            return
        before = self.profile.customer
        with self.batch_update():
            await self.switch_screen("profile")
            if self.profile.customer is before:  # no scan came while it was composed
                await self.push_screen("identify")

    def action_home(self) -> None:
        """Back to the identify screen (Escape from the profile)."""
        if self.till.operator is not None and not isinstance(self.screen, ModalScreen):
            self._show(self.identify)

    def action_logout(self) -> None:
        """End the shift: back to the login screen (after a warning if ops are unsent)."""
        if self.till.operator is None:
            return
        self._close_shift("Log out", self._log_out)

    async def action_quit(self) -> None:
        """Quit the till (after a warning if ops are unsent)."""
        self._close_shift("Quit", self.exit)

    def _close_shift(self, what: str, close: Callable[[], object]) -> None:
        """`close`, once the operator confirms it while ops wait for the CRM: they stay on
        this till and only go while it runs with the CRM in reach, so a store closing for
        the night should know. Asked again from the warning itself (Ctrl+Q twice), it
        closes."""
        from tillcrm.screens.confirm import ConfirmScreen

        unsent = self.till.unsent() if self.is_open else 0
        if not unsent or isinstance(self.screen, ConfirmScreen):
            close()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                close()

        question = (
            f"{unsent} op(s) have not reached the CRM yet. They stay queued on this till and "
            f"are sent when it runs again with the CRM in reach. {what} anyway?"
        )
        self.push_screen(ConfirmScreen(question), answered)

    def _log_out(self) -> None:
        self.till.logout()
        self.operator_name = ""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(self.furnish(LoginScreen()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Ctrl+C quits only where `ctrl_c_quits`, Escape goes home only from the profile;
        elsewhere these keys go on to the screen."""
        if action == "ctrl_c_quit":
            return self.ctrl_c_quits
        if action in ("home", "sync_screen", "readers", "logout", "new_customer"):
            return (
                self.is_open
                and self.till.operator is not None
                and not isinstance(self.screen, ModalScreen)
                and (action != "home" or self.screen is self.profile)
            )
        return True

    def action_sync_screen(self) -> None:
        """The sync queue, rejected and flagged ops (supervisors and managers)."""
        from tillcrm.screens.sync import SyncScreen

        operator = self.till.operator
        if operator is None or isinstance(self.screen, SyncScreen):
            return
        if not operator.role.can_approve:
            self.notify("the sync screen is for supervisors", severity="warning")
            return
        self.push_screen(SyncScreen(self.till, self.sync, locale=self.money.locale))

    def action_new_customer(self) -> None:
        """The customer form for someone new; once saved, their profile opens."""
        from tillcrm.screens.customer_form import CustomerFormScreen

        if self.till.operator is None or isinstance(self.screen, ModalScreen | CustomerFormScreen):
            return
        form = CustomerFormScreen(
            self.till, self.money, phone_region=self.settings.locale.phone_region
        )
        self.push_screen(form, self._open_new_customer)

    def _open_new_customer(self, customer_id: UUID | None) -> None:
        if customer_id is not None:
            self.show_identified(self.till.choose(customer_id))

    def action_readers(self) -> None:
        """Each reader's state and last read."""
        from tillcrm.screens.devices import DevicesScreen

        if not isinstance(self.screen, DevicesScreen):
            self.push_screen(
                DevicesScreen(
                    self.device_board,
                    locale=self.money.locale,
                    zone=self.till.context.store.timezone,
                )
            )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette (Ctrl+P): Textual's commands and the till's main actions."""
        yield from super().get_system_commands(screen)
        if not self.is_open or self.till.operator is None:
            return
        yield SystemCommand("Home", "Identify a customer", self.action_home)
        yield SystemCommand("Log out", "End this operator's shift", self.action_logout)
        yield SystemCommand("New customer", "Create a customer profile", self.action_new_customer)
        yield SystemCommand("Readers", "Each reader's state and last read", self.action_readers)
        yield SystemCommand(
            "Sync queue", "Queued, rejected and flagged ops (supervisors)", self.action_sync_screen
        )

    async def action_ctrl_c_quit(self) -> None:
        """Quit (Ctrl+C in the demo)."""
        await self.action_quit()

    # -- keys and errors ---------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """Every key goes through the wedge filter first, except on a modal (a badge swiped on
        a keyboard-wedge reader must reach the override dialog's badge field)."""
        if (
            self._wedge is not None
            and isinstance(event, events.Key)
            and not event.is_forwarded
            and not isinstance(self.screen, ModalScreen)
        ):
            await self._wedge.key(event)
            return
        await super().on_event(event)

    async def _route_key(self, event: events.Key) -> None:
        await super().on_event(event)

    def _handle_exception(self, error: Exception) -> None:
        """A failed worker shows its error and the till goes on; anything else ends the app.

        Textual exits on a worker's exception; a cashier mid-shift is better served by a
        message (the error is logged in full for support).
        """
        if isinstance(error, WorkerFailed):
            log.error("a background task failed", exc_info=error.error)
            self.notify(f"something went wrong: {error.error}", severity="error", timeout=10)
            return
        super()._handle_exception(error)
