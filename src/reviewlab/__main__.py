from reviewlab.cli import main

raise SystemExit(main())
