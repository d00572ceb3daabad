"""Entry point the e2e harness's language host runs a Pulumi Python program with.

Invoked as `python exec_shim.py --monitor ADDR --engine ADDR --project P --stack S ... PROGRAM [ARGS...]`
with PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS (JSON) in the environment. It configures the SDK's
runtime from them and runs PROGRAM (a directory with __main__.py, or a .py file) inside the
SDK's stack resource, so that registrations and exports go to the engine.

Exit codes: 0 success; 1 the program failed with a pulumi.RunError (already logged); 32 the failure
was already reported to the user (the language host then tells the engine to bail quietly).
"""

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor

BAIL = 32  # "an actionable message was shown": the host answers Run with bail=true


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="pulumi-language-python-exec")
    for name in ("monitor", "engine", "project", "stack", "pwd", "dry_run", "parallel",
                 "organization", "root_directory", "tracing"):
        ap.add_argument("--" + name)
    ap.add_argument("program")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    return ap.parse_args(argv)


def user_traceback(program_dir: str) -> str:
    """The current exception's traceback, starting at the first frame in the user's program."""
    exc_type, exc, tb = sys.exc_info()
    frames = traceback.extract_tb(tb)
    start = next((i for i, f in enumerate(frames)
                  if not f.filename.startswith("<")  # "<frozen runpy>" is no file of the program
                  and os.path.abspath(f.filename).startswith(program_dir + os.sep)), 0)
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames[start:])
    lines += traceback.format_exception_only(exc_type, exc)
    return "".join(lines)


def main(argv) -> int:
    opts = parse_args(argv)
    try:
        import pulumi
        import pulumi.runtime
    except ImportError:
        print(traceback.format_exc(), file=sys.stderr)
        print("The pulumi package is not installed in this Python environment "
              f"({sys.executable}); install the program's requirements into its virtualenv.",
              file=sys.stderr)
        return 1

    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(),
                                  pulumi.runtime.get_config_secret_keys_env())
    parallel = int(opts.parallel) if opts.parallel else None
    settings = pulumi.runtime.Settings(
        project=opts.project,
        stack=opts.stack,
        monitor=opts.monitor,
        engine=opts.engine,
        parallel=parallel,
        dry_run=opts.dry_run == "true",
        organization=opts.organization,
        root_directory=opts.root_directory,
    )
    pulumi.runtime.configure(settings)

    program = os.path.abspath(opts.program)
    main_file = os.path.join(program, "__main__.py") if os.path.isdir(program) else program
    if not os.path.isfile(main_file):
        pulumi.log.error(f"no Python program to run: {main_file} does not exist")
        return BAIL
    program_dir = os.path.dirname(main_file)

    sys.argv = [opts.program] + list(opts.args)
    if opts.pwd:
        os.chdir(opts.pwd)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Outputs run their callbacks on the loop's default executor: size it from --parallel.
    executor = ThreadPoolExecutor(max_workers=max(parallel or 1, 1) * 4)
    loop.set_default_executor(executor)
    # A failed deployment leaves futures nobody awaited; asyncio's complaints about them are noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    def run_program():
        runpy.run_path(program, run_name="__main__")

    code = 1
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
        code = 0
    except pulumi.RunError as e:
        pulumi.log.error(str(e))
        code = 1
    except Exception:  # noqa: BLE001 -- any failure of the user's program is reported, then we bail
        pulumi.log.error("Program failed with an unhandled exception:\n" + user_traceback(program_dir))
        code = BAIL
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
