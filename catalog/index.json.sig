{
  "algorithm": "ed25519",
  "keyid": "84bbf1b2b0bf53c0",
  "signature": "/39hI8Z9OWBdHdY6pt6LIx/Lm/ixURfkeLjQLo6CoVN1mZ8dYvKNUVDBVt8g6veMhNFecNL4NZtB780/5da5Aw=="
}
