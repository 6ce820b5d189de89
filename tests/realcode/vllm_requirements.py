"""Run with a vLLM virtualenv's Python: vLLM's own requirement (version range, no extras or marker) for each
package named on the command line, one per line; a name vLLM does not list is printed as given. .ci/run
installs the few dependencies vLLM's CLI parser and OpenAI app import, at the versions vLLM asks for."""

import importlib.metadata
import re
import sys


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    lines = importlib.metadata.requires("vllm") or []
    for name in sys.argv[1:]:
        for line in lines:
            head = re.match(r"[A-Za-z0-9_.-]+", line)
            if head and normal(head.group()) == normal(name) and "extra ==" not in line:
                print(re.sub(r"\[[^]]*\]", "", line.split(";")[0]).replace(" ", ""))
                break
        else:
            print(name)


if __name__ == "__main__":
    main()
