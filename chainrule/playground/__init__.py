"""``chainrule playground``: the TensorFlow Playground in the browser, trained by chainrule's engine, with the
gradients, the doctor and the explainer on the page. session.py holds a run; server.py serves the page."""
