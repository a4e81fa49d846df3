"""The command line: ``python -m autograd COMMAND``.

Each command lives in its own module with ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> exit code``; this file only dispatches.
"""

import argparse
import importlib
import sys

COMMANDS = {
    "train": "autograd.commands.train",
    "draw": "autograd.commands.draw",
    "step": "autograd.commands.step",
    "demo": "autograd.commands.demo",
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograd",
                                     description="tapegrad: train, draw and step through networks")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
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
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return modules[args.command].run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
