{
  "algorithm": "ed25519",
  "keyid": "95b951a5093d353f",
  "signature": "OOtmrp1250El91UCV1rMR/h2Bb53y6g2beQOQqtg/6a37cchyzutiTVodLBgrgjMKl4Npv2cKPvkAixGjm0IAQ=="
}
