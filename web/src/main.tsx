/** Entry point of the explorer page. */
import { render } from "preact";
import { App } from "./app.js";
import "./styles/base.css";
import "./styles/side.css";
import "./styles/views.css";

render(<App />, document.getElementById("app")!);
