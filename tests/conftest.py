pytest_plugins = ["tests.fix_services", "tests.fix_parallel", "tests.fix_stack", "tests.fix_erpsim",
                  "tests.fix_api"]
