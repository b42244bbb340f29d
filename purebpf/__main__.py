import sys

from purebpf.cli.main import main

sys.exit(main())
