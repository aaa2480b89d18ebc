"""Graph network on ogbg-molpcba (`ogbg`) and its CPU-sized sibling on random molecules."""
