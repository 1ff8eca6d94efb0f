{
  "algorithm": "ed25519",
  "keyid": "95b951a5093d353f",
  "signature": "yohtamhOdjWiZ+gEOFZLGTX9UAzcMknoqo8QB/Rfd6hDsmWraX77GAbtv0Y25IfckeuhsgptBDsMnU0cuuxPAA=="
}
