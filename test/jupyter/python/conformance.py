"""jupyter_kernel_test's conformance suite against the installed Shared Futures kernelspec, with TypeScript
samples. Run by test/jupyter/conformance.system.test.ts with SF_KERNEL_NAME naming the kernelspec."""
import os
import unittest

import jupyter_kernel_test


class SharedFuturesKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ["SF_KERNEL_NAME"]
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops: something to stderr")'

    completion_samples = [
        # A prelude name, a member of the typed client, and a name declared by an earlier cell.
        {"text": "clie", "matches": {"client"}},
        {"text": "client.subm", "matches": {"submit", "submitGraph"}},
        {"text": "Math.PI; [1, 2].inclu", "matches": {"includes"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 1;", "for (const i of [1, 2]) { console.log(i); }", "// just a comment", ""]
    incomplete_code_samples = ["for (const i of [1, 2]) {", "const f = (a: number) =>", "[1, 2,", "`a template ${1}", "/* a comment"]
    invalid_code_samples = ["1 +* 2)", "}", "let = ;"]

    code_generate_error = 'throw new Error("this cell fails")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'shared' + '-' + 'futures'", "result": "'shared-futures'"},
        {"code": "[1, 2, 3].map((x: number) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]

    code_display_data = [
        {"code": "display('<b>bold</b>', 'text/html')", "mime": "text/html"},
        {"code": "display({ a: 1 }, 'application/json')", "mime": "application/json"},
        # A future shows as a live view: our mime type, with text/html and text/plain twins.
        {"code": "display(client.submit((x: number) => x + 1, 1))", "mime": "application/vnd.shared-futures+json"},
        {"code": "display(client.submit((x: number) => x + 2, 1))", "mime": "text/html"},
    ]

    code_history_pattern = "6 ?*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "client"


# Features this kernel does not have, removed rather than left to skip: no pager payloads (test_pager)
# and no clear_output from cells (test_clear_output).
del jupyter_kernel_test.KernelTests.test_pager
del jupyter_kernel_test.KernelTests.test_clear_output

if __name__ == "__main__":
    unittest.main(verbosity=2)
