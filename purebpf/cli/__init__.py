"""The ``purebpf`` command: one thin module per subcommand."""
