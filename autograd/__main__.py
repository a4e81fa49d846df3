"""The command line: ``python -m autograd COMMAND``.

Each command lives in its own module with ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> exit code``; this file only dispatches. A user's mistake is one line
``error: ...`` and exit status 2 (argparse's usage errors show the command's usage
first); a traceback means a bug in tapegrad.
"""

import argparse
import difflib
import importlib
import os
import sys

from autograd.commands import CommandError

COMMANDS = {
    "train": "autograd.commands.train",
    "draw": "autograd.commands.draw",
    "step": "autograd.commands.step",
    "demo": "autograd.commands.demo",
    "predict": "autograd.commands.predict",
}


def _did_you_mean(word, choices):
    """'; did you mean --epochs?' for '--epocs' (compared without the dashes), else ''."""
    bare = {choice.lstrip("-"): choice for choice in choices}
    close = difflib.get_close_matches(word.lstrip("-"), list(bare), n=1, cutoff=0.6)
    return f"; did you mean {bare[close[0]]}?" if close else ""


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: an unknown option is refused here, with this command's usage
    and the closest option (argparse leaves it to the top-level parser, whose usage does
    not show the command's options)."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            hint = ""
            for word in extras:
                if word.startswith("-"):
                    hint = _did_you_mean(word.split("=", 1)[0], list(self._option_string_actions))
                    break
            self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return namespace, extras


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m autograd",
                                     description="tapegrad: train networks, draw them, step through "
                                                 "backprop, and see what they predict")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=_CommandParser)
    modules = {}
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        modules[name] = module
        sub = commands.add_parser(name, help=module.HELP, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
    if argv and not argv[0].startswith("-") and argv[0] not in modules:
        parser.error(f"unknown command {argv[0]!r}{_did_you_mean(argv[0], list(modules))} "
                     f"(the commands: {', '.join(modules)})")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return modules[args.command].run(args) or 0
    except CommandError as error:
        message = " ".join(line.strip() for line in str(error).splitlines())  # one line
        print(f"error: {message}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head` stopped reading: nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again
        return 1


if __name__ == "__main__":
    sys.exit(main())
