# SC105 code-builtin: builtins that run text as code or reach the interpreter.
exec("import os")  # error: SC105
# ---
value = eval("1 + 1")  # error: SC105
# ---
code = compile("1", "<x>", "eval")  # error: SC105
# ---
handle = open("/etc/passwd")  # error: SC105
# ---
namespace = globals()  # error: SC105
# ---
namespace = locals()  # error: SC105
# ---
namespace = vars()  # error: SC105
# ---
answer = input()  # error: SC105
# ---
breakpoint()  # error: SC105
# ---
help(print)  # error: SC105
# ---
exit()  # error: SC105
# ---
quit()  # error: SC105
# ---
view = memoryview(b"abc")  # error: SC105
# ---
print(copyright, credits, license)  # error: SC105
# ---
runner = [exec, eval]  # error: SC105
# ---
# A script may define its own function with one of these names.
def compile(pattern):
    return pattern.upper()
print(compile("abc"))
# ---
def run(open):
    return open + 1
open = 2
print(run(open))
# ---
import re
print(re.compile("a+").match("aaa"))
# ---
class Sandbox:
    def eval(self, text):
        return len(text)
print(Sandbox().eval("abc"))
