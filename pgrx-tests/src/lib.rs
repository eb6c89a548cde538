//! End-to-end test support: a private PostgreSQL cluster with hubsync preloaded and the emulator.
