from setuptools import Extension, setup

EXTRA = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"]

setup(ext_modules=[
    Extension("safecompile.guards._deadline", ["safecompile/guards/_deadline.c"], extra_compile_args=EXTRA),
    Extension("safecompile.guards._memory", ["safecompile/guards/_memory.c"], extra_compile_args=EXTRA),
    Extension("safecompile.guards._native", ["safecompile/guards/_native.c"], extra_compile_args=EXTRA),
])
