#!/usr/bin/env python3
"""placeholder: filled in by the next commit"""
import sys
sys.exit(77)
