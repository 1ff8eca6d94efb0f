{
  "algorithm": "ed25519",
  "keyid": "84bbf1b2b0bf53c0",
  "signature": "MHd3Pw9DjoKenYoB9+FktJ+vzrlTRHNBLFovn/oWhOaDcLdTap+8Wj/B7YfGVvXGcDFOUoQN641BFPAFJzeSBw=="
}
