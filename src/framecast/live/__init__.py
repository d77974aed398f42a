"""The live path: frames and their wire formats, the fan-out hub, the pipeline that makes a frame
of each image, streams and their history, metadata limits, control commands, web-folder files."""
