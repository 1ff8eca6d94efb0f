{
  "algorithm": "ed25519",
  "keyid": "95b951a5093d353f",
  "signature": "917qBOhOR8k+IcG0KTNCcaR59Gf9InS9R9hJkFoMEPhlzK0liNTbi50IXK3UQqU1wGCGF6XDJltaMbQW4ZjIDg=="
}
