const express = require("express");
const app = express();
app.get("/", (_req, res) => res.send(`${process.env.GREETING || "hello"}\n`));
app.listen(Number(process.env.PORT || 5000), () => console.log("listening"));
