"""A local Telegram Bot API emulator, faithful enough to test and benchmark the bot against.

    from emulator import running_emulator
    with running_emulator() as emu:
        token = emu.new_bot_token()
        bot = telegram.Bot(token, base_url=emu.base_url, base_file_url=emu.file_base_url)

See docs/emulator.md for the routes, the control side and where each rule comes from.
"""

from .asgi import asgi_app
from .control import CONTROL_METHODS, ControlError, EmulatorClient
from .core import METHODS, Emulator
from .errors import ApiError
from .limits import Faults, Limits
from .routes import App
from .server import EmulatorServer, running_emulator

__all__ = [
    "CONTROL_METHODS",
    "METHODS",
    "ApiError",
    "App",
    "ControlError",
    "Emulator",
    "EmulatorClient",
    "EmulatorServer",
    "Faults",
    "Limits",
    "asgi_app",
    "running_emulator",
]
